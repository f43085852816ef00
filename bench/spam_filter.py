"""How well the learning spam filter does after how many of a site's decisions.

    .venv/bin/python bench/spam_filter.py [--quick] [--seed N]

A moderator decides comments one at a time, in the order they arrive (a stream drawn from
bench/spam_corpus.py); after each decision the filter has learned from one more. At set
points it scores a held-out set it never learned from, and the table gives, for holding
(score >= 0.9) and for catching (>= 0.99): precision (of what it flagged, how much was spam),
recall (of the spam, how much it flagged), and the share of good comments it flagged. The
moderator's decisions are wrong 2% of the time; the held-out labels are not. The
filter runs as the service runs it: app.domain.learning's features, counts and scores, with
the counts in a dict instead of the learned_token table.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spam_corpus import Sample, labelled_set

from app.domain import learning
from app.domain.learning import CATCH_AT, HOLD_AT, Counts

CHECKPOINTS = (10, 20, 50, 100, 200, 500, 1000, 2000)
MIN_DECISIONS = 20  # the service's default FILTER_MIN_DECISIONS
MISTAKES = 0.02  # decisions the moderator gets wrong


class Filter:
    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.docs = [0, 0]

    def learn(self, sample: Sample) -> None:
        kind = 0 if sample.spam else 1
        self.docs[kind] += 1
        for token in _features(sample):
            self.counts[token][kind] += 1

    def score(self, sample: Sample) -> float | None:
        docs = Counts(*self.docs)
        if not learning.ready(docs, MIN_DECISIONS):
            return None
        tokens = _features(sample)
        seen = {t: Counts(*self.counts[t]) for t in tokens if t in self.counts}
        return learning.assess(tokens, seen, docs).score


def _features(sample: Sample) -> list[str]:
    return learning.features(
        body=sample.body, html=sample.html, website=sample.website, signed_in=sample.signed_in
    )


def _rates(scores: list[tuple[float | None, bool]], threshold: float) -> tuple[str, str, str]:
    flagged = [(s is not None and s >= threshold, spam) for s, spam in scores]
    true_pos = sum(1 for f, spam in flagged if f and spam)
    false_pos = sum(1 for f, spam in flagged if f and not spam)
    spam_total = sum(1 for _, spam in flagged if spam)
    ham_total = len(flagged) - spam_total
    precision = f"{true_pos / (true_pos + false_pos):.3f}" if true_pos + false_pos else "-"
    recall = f"{true_pos / spam_total:.3f}" if spam_total else "-"
    fp_rate = f"{false_pos / ham_total:.3f}" if ham_total else "-"
    return precision, recall, fp_rate


def run(stream_size: int, test_size: int, seed: int) -> list[list[str]]:
    samples = labelled_set(stream_size + test_size, seed=seed)
    stream, held_out = samples[:stream_size], samples[stream_size:]
    model = Filter()
    rows = []
    mistakes = random.Random(seed + 1)  # noqa: S311  # reproducible, not a secret
    for seen, sample in enumerate(stream, start=1):
        if mistakes.random() < MISTAKES:
            sample = replace(sample, spam=not sample.spam)  # a hurried moderator's slip
        model.learn(sample)
        if seen in CHECKPOINTS:
            scores = [(model.score(s), s.spam) for s in held_out]
            if all(s is None for s, _ in scores):
                rows.append([str(seen), "not scoring yet", "", "", "", "", ""])
                continue
            rows.append([str(seen), *_rates(scores, HOLD_AT), *_rates(scores, CATCH_AT)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 decisions, 300 held out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    stream, test = (500, 300) if args.quick else (2000, 1000)
    rows = run(stream, test, args.seed)
    headers = [
        "decisions",
        "hold precision",
        "hold recall",
        "good held",
        "catch precision",
        "catch recall",
        "good caught",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"held-out set: {test} comments, about 30% spam; seed {args.seed}")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
