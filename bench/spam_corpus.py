"""A labelled set of blog comments for measuring the learning spam filter, made up here.

No public comment corpus can be downloaded on the machines this runs on, so the set is
generated, reproducibly (a seed), from pieces written for it: what readers of a small
massage-therapy blog write (questions, thanks, stories, disagreements, short replies, some
with a link to a legitimate page), and what comment spam looks like (casino, pills, loans,
crypto, essay mills, SEO offers, "great post" with a link, flattery without a link, spam
pretending to be a reader). Pieces are combined at random with filler sentences that both
kinds share, so words alone never decide, and a fifth of each kind is made harder: readers
who mention money, prices or links, spam that borrows the blog's vocabulary. The real
distribution of any one site differs; the set is for comparing the filter with itself across
the number of decisions it has seen, not for a claim about all sites.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    body: str
    html: str
    website: str | None
    signed_in: bool
    spam: bool


HAM_OPENINGS = [
    "Thank you for this post about {topic}.",
    "I tried the {technique} you described and my {body_part} feels much better.",
    "Do you think {technique} helps with {complaint}?",
    "My therapist recommended {technique} for my {body_part}, and this explains why.",
    "I have had {complaint} for years; the stretch for the {body_part} helped.",
    "Interesting read. I disagree a little about {technique} after a long run, though.",
    "How often should someone with {complaint} book a session?",
    "Great explanation of {topic}, clearer than what I found elsewhere.",
    "Is {technique} safe during pregnancy? My {body_part} aches a lot.",
    "I work at a desk all day and my {body_part} is always tight.",
    "We did the {technique} routine together at home last weekend.",
    "Could you write more about {topic} for older clients?",
]
HAM_MIDDLES = [
    "I used a tennis ball against the wall, as you suggested.",
    "Warm towels first made a real difference for me.",
    "My physiotherapist said the same thing about posture.",
    "It hurt a bit the first time, then it eased.",
    "I am not sure ten minutes is enough, but it is a start.",
    "My partner is learning it too.",
    "The video you linked last month was useful as well.",
    "Drinking water afterwards is something I always forget.",
]
HAM_CLOSINGS = [
    "Thanks again!",
    "Looking forward to the next post.",
    "Cheers from Lisbon.",
    "Keep writing.",
    "See you at the studio next week.",
    "",
]
HAM_HARD = [
    "The price of a session went up this year, is it still worth the money?",
    "I found a cheap foam roller online, about ten dollars, works fine.",
    "Here is the study I mentioned: [the article](https://pubmed.ncbi.nlm.nih.gov/1234567/)",
    "My insurance covers part of it if you ask for an invoice.",
    "Does anyone know a good clinic near the station? I can pay cash.",
    "The free workshop was great, thank you for organising it.",
]
TOPICS = [
    "deep tissue massage",
    "trigger points",
    "sports massage",
    "neck pain",
    "lymphatic drainage",
    "shiatsu",
    "stretching at work",
]
TECHNIQUES = ["trigger point release", "myofascial release", "effleurage", "the shoulder roll"]
BODY_PARTS = ["shoulder", "lower back", "neck", "hip", "calf", "wrist"]
COMPLAINTS = ["tension headaches", "sciatica", "plantar fasciitis", "stiff shoulders"]

SPAM_PITCHES = [
    "Best online casino bonus, win real money tonight at {brand}.",
    "Buy cheap {pill} online without prescription, fast delivery.",
    "Need a loan today? Instant approval, no credit check at {brand}.",
    "Earn 500 dollars a day from home with our crypto trading bot.",
    "We write your essay in 3 hours, plagiarism free, order at {brand}.",
    "Boost your website to the first page of Google, cheap SEO backlinks.",
    "Hot singles in your area are waiting, click to chat now.",
    "Get {pill} at the lowest price, discreet shipping worldwide.",
    "Invest in {coin} now before it goes to the moon, guaranteed profit.",
    "Replica watches and bags, 90 percent off, limited offer.",
]
SPAM_FLATTERY = [
    "Great post! Very informative.",
    "I like this blog so much, saved as a favourite.",
    "Wow, amazing article, keep it up.",
    "Thanks for sharing, I bookmarked your site.",
    "Nice content, I will share it with my friends.",
]
SPAM_HARD = [
    "Massage is so relaxing. For the best {technique} deals visit our partner store.",
    "My {body_part} pain went away thanks to {pill}, you should try it too.",
    "Great tips about {topic}! We sell massage chairs at a discount, check it out.",
    "I read your post about {topic}. Our agency can bring you more clients, contact us.",
]
# Not spam, but what moderators reject: rude or off-topic readers, in the blog's own words.
REJECTED_READERS = [
    "This is nonsense, {technique} is a scam and so is this blog.",
    "Off topic, but did anyone watch the match last night?",
    "You clearly know nothing about {topic}, stop writing.",
    "My {body_part} got worse, you people are idiots.",
    "First! Nobody reads this anyway.",
    "Whatever. Massage is for lazy people.",
]
BRANDS = ["lucky-spin.example", "pillshop.example", "quickcash.example", "essaypro.example"]
PILLS = ["viagra", "cialis", "tramadol", "xanax"]
COINS = ["bitcoin", "dogecoin", "a new token"]
SPAM_HOSTS = [
    "lucky-spin.example",
    "pillshop.example",
    "quickcash.example",
    "essaypro.example",
    "seo-links.example",
    "cheap-watches.example",
]
HAM_HOSTS = ["wikipedia.org", "nhs.uk", "youtube.com", "pubmed.ncbi.nlm.nih.gov"]


def _fill(rng: random.Random, text: str) -> str:
    return text.format(
        topic=rng.choice(TOPICS),
        technique=rng.choice(TECHNIQUES),
        body_part=rng.choice(BODY_PARTS),
        complaint=rng.choice(COMPLAINTS),
        brand=rng.choice(BRANDS),
        pill=rng.choice(PILLS),
        coin=rng.choice(COINS),
    )


def _link(rng: random.Random, host: str) -> tuple[str, str]:
    path = rng.choice(["", "offer", "page/2", "go", "article"])
    url = f"https://{host}/{path}"
    text = rng.choice(["here", "this link", "my site", host])
    return f"[{text}]({url})", f'<a href="{url}" rel="nofollow ugc">{text}</a>'


def _ham(rng: random.Random) -> Sample:
    parts = [_fill(rng, rng.choice(HAM_OPENINGS))]
    if rng.random() < 0.6:
        parts.append(rng.choice(HAM_MIDDLES))
    if rng.random() < 0.2:
        parts.append(_fill(rng, rng.choice(HAM_HARD)))
    parts.append(rng.choice(HAM_CLOSINGS))
    body = " ".join(p for p in parts if p)
    html_extra = ""
    if rng.random() < 0.1:
        md, html = _link(rng, rng.choice(HAM_HOSTS))
        body += f" {md}"
        html_extra = f" {html}"
    if rng.random() < 0.08:
        body = rng.choice(["Thanks!", "So true.", "Agreed.", "Very helpful, thank you."])
    return Sample(
        body=body,
        html=f"<p>{body}{html_extra}</p>",
        website=rng.choice([None, None, None, "https://myblog.example"]),
        signed_in=rng.random() < 0.35,
        spam=False,
    )


def _rejected_reader(rng: random.Random) -> Sample:
    body = _fill(rng, rng.choice(REJECTED_READERS))
    if rng.random() < 0.4:
        body += " " + rng.choice(HAM_MIDDLES)
    return Sample(
        body=body,
        html=f"<p>{body}</p>",
        website=None,
        signed_in=rng.random() < 0.3,
        spam=True,
    )


def _spam(rng: random.Random) -> Sample:
    roll = rng.random()
    if roll < 0.12:
        return _rejected_reader(rng)
    if roll < 0.3:
        parts = [_fill(rng, rng.choice(SPAM_HARD))]
    elif roll < 0.45:
        parts = [rng.choice(SPAM_FLATTERY)]
    else:
        parts = [_fill(rng, rng.choice(SPAM_PITCHES))]
        if rng.random() < 0.4:
            parts.insert(0, rng.choice(SPAM_FLATTERY))
    if rng.random() < 0.2:
        parts.append(rng.choice(HAM_MIDDLES))  # borrowed to look like a reader
    body = " ".join(parts)
    html = f"<p>{body}"
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        md, anchor = _link(rng, rng.choice(SPAM_HOSTS))
        body += f" {md}"
        html += f" {anchor}"
    return Sample(
        body=body,
        html=html + "</p>",
        website=f"https://{rng.choice(SPAM_HOSTS)}" if rng.random() < 0.6 else None,
        signed_in=rng.random() < 0.05,
        spam=True,
    )


def labelled_set(size: int, *, spam_share: float = 0.3, seed: int = 7) -> list[Sample]:
    """`size` comments, about `spam_share` of them unwanted (spam, or readers a moderator
    would reject), shuffled, the same for a seed."""
    rng = random.Random(seed)  # noqa: S311  # a reproducible set, not a secret
    samples = [_spam(rng) if rng.random() < spam_share else _ham(rng) for _ in range(size)]
    rng.shuffle(samples)
    return samples
