/* Afterword comment widget: what the host page asks for. The parts in this folder are joined,
   in the order of EMBED_PARTS in app/embed/bundle.py, into one function that has STRINGS (the
   English wording), LANGUAGES, ALIASES, RTL, CSS, CLASS (served class names) and PAGE_PARAMS
   in scope.
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
// The language: data-lang, else the page's; "pt-BR", "nb-NO", "no" and "zh-Hans" find theirs.
const [lang, locale] = (() => {
  const tag = (options.lang || D.documentElement.lang || "en").replace(/_/g, "-").toLowerCase();
  let code = tag.split("-")[0];
  code = ALIASES[code] || code;
  if (!LANGUAGES.includes(code)) return ["en", "en"];
  // Dates and numbers follow the page's own tag where it is one: "pt-BR", "de-CH".
  try { return [code, Intl.getCanonicalLocales(tag)[0]]; } catch { return [code, code]; }
})();
// T is the wording, English until the page's language is in: asked for at once, alongside
// the thread, and in before any answer is shown (api.js). When it fails, English stays.
const T = STRINGS;
const wording = lang === "en" ? Promise.resolve() : fetch(`${base}/embed/strings/${lang}.json`, { credentials: "omit" })
  .then((r) => r.ok && r.json()).then((j) => Object.assign(T, j)).catch(() => {});
const theme = /^(light|dark|auto)$/.test(options.theme) ? options.theme : null;
const format = (s, v) => s.replace("{0}", v);
// Made on first use, after the first comments are drawn (thread.js): the first formatter of a
// fresh page loads the browser's locale data, tens of milliseconds of its main thread.
let intl;
const formats = () => intl ||= [new Intl.RelativeTimeFormat(locale, { numeric: "auto" }), new Intl.NumberFormat(locale), new Intl.PluralRules(locale)];
const number = (n) => formats()[1].format(n);
// Wording that counts has a form per plural category of the language ("one", "few", "other").
const counted = (forms, n) => format(forms[formats()[2].select(n)] || forms.other, number(n));
const countText = (n) => counted(T.commentCount, n);
// Providers go by their own names, in every language; email is a word to translate.
const labelOf = (p) => p.name == "email" ? T.emailProvider : p.label;

const KEY_PREFIX = `afterword:${site}:`;
const tokensKey = `${KEY_PREFIX}tokens:${pageUrl}`, guestKey = `${KEY_PREFIX}guest`;
const loginKey = `${KEY_PREFIX}login`, likesKey = `${KEY_PREFIX}likes`, browserKey = `${KEY_PREFIX}browser`, ssoKey = `${KEY_PREFIX}sso`;
const authKey = `${KEY_PREFIX}auth:${base}`; // the reader's session token, for this site and service
const draftKey = (parentId) => `${KEY_PREFIX}draft:${pageUrl}:${parentId || 0}`;
