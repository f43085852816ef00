/* Afterword comment widget: what the host page asks for. The parts in this folder are joined,
   in the order of EMBED_PARTS in app/embed/bundle.py, into one function that has STRINGS (the
   wording per language), CSS, CLASS (served class names) and PAGE_PARAMS in scope.
   Usage: <div id="afterword"></div>
          <script src="https://comments.example/embed.js" data-site="SITE_ID" async></script> */
const D = document;
// `async` scripts have no currentScript once the page moved on, hence the selector.
const SCRIPT = D.currentScript || D.querySelector('script[src*="embed.js"][data-site]');
if (!SCRIPT) return;

const options = SCRIPT.dataset, site = options.site, base = new URL(SCRIPT.src, location.href).origin;
// The query parameters that name the page (`/?p=123`) are the thread's, as on the server
// (PAGE_PARAMS, app/domain/policy.py); the rest (utm_*, replytocom) come and go.
const pageQuery = String(new URLSearchParams([...new URLSearchParams(location.search)].filter(([k, v]) => v && PAGE_PARAMS.includes(k)).sort()));
const pageUrl = options.url || location.href.split(/[?#]/)[0] + (pageQuery && "?" + pageQuery);
// A <title> mostly ends with the site's name ("Post · Blog"): the thread keeps the post's.
const pageTitle = options.title || D.title.replace(/^(.*\S)\s[·|–—-]\s.*/, "$1");
const requestedLanguage = (options.lang || D.documentElement.lang || "en").slice(0, 2).toLowerCase();
const locale = STRINGS[requestedLanguage] ? requestedLanguage : "en", T = STRINGS[locale];
const theme = /^(light|dark|auto)$/.test(options.theme) ? options.theme : null;
const format = (s, v) => s.replace("{0}", v);
const relativeTime = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
const plural = new Intl.PluralRules(locale);
const countText = (n) => format(T[plural.select(n) === "one" ? "commentCountOne" : "commentCountMany"], n);

const KEY_PREFIX = `afterword:${site}:`;
const tokensKey = `${KEY_PREFIX}tokens:${pageUrl}`, guestKey = `${KEY_PREFIX}guest`;
const loginKey = `${KEY_PREFIX}login`, likesKey = `${KEY_PREFIX}likes`, serverKey = `${KEY_PREFIX}mastodon`, browserKey = `${KEY_PREFIX}browser`;
const authKey = `${KEY_PREFIX}auth:${base}`; // the reader's session token, for this site and service
const draftKey = (parentId) => `${KEY_PREFIX}draft:${pageUrl}:${parentId || 0}`;
