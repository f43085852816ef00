/* Afterword comment counts for listing pages: fills every <a data-afterword-count="URL">
   with "N Comments", one request for the whole page.
   <script src="https://comments.example/count.js" data-site="SITE_ID" async></script>
   app/embed/bundle.py wraps this in a function with STRINGS, the widget's "N Comments" in
   every language, and ALIASES in scope. */
const D = document;
const S = D.currentScript || D.querySelector('script[src*="count.js"][data-site]');
if (!S) return;
const MAX_URLS = 100; // the API's limit per request
// Proxies and servers refuse long request lines (gunicorn: 8190 bytes at most).
const MAX_QUERY = 6000;

function run() {
  const links = [...D.querySelectorAll("a[data-afterword-count]")];
  if (!links.length) return;
  // The widget's rule (widget/page.js): "pt-BR", "no" and "zh-Hans" find their language.
  const tag = (S.dataset.lang || D.documentElement.lang || "en").replace(/_/g, "-").toLowerCase();
  let loc = tag.split("-")[0], intl = "en";
  loc = ALIASES[loc] || loc;
  if (!STRINGS[loc]) loc = "en";
  else try { intl = Intl.getCanonicalLocales(tag)[0]; } catch { intl = loc; }
  const plural = new Intl.PluralRules(intl), number = new Intl.NumberFormat(intl);
  // "/posts/neck.html" names the same thread as its absolute address, as the widget sees it.
  const target = (a) => {
    try {
      return new URL(a.dataset.afterwordCount || a.href, location.href).href;
    } catch {
      return a.href;
    }
  };
  const urls = [...new Set(links.map(target))];
  const base = `${new URL(S.src, location.href).origin}/api/v1/sites/${encodeURIComponent(S.dataset.site)}/counts?`;
  // Usually one request; a very long listing is split so that no request line is too long.
  const batches = [];
  let q = new URLSearchParams(), n = 0;
  for (const u of urls) {
    const next = new URLSearchParams(q);
    next.append("url", u);
    if (n && (n === MAX_URLS || next.toString().length > MAX_QUERY)) {
      batches.push(q);
      q = new URLSearchParams([["url", u]]);
      n = 1;
    } else {
      q = next;
      n += 1;
    }
  }
  batches.push(q);
  for (const q of batches) {
    fetch(base + q, { credentials: "omit" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(({ counts }) => {
        for (const a of links) {
          const n = counts[target(a)];
          if (typeof n === "number") {
            // A form per plural category of the language, "other" for any it leaves out.
            const forms = STRINGS[loc].commentCount;
            a.textContent = (forms[plural.select(n)] || forms.other).replace("{0}", number.format(n));
          }
        }
      })
      // The links keep their own text when the service is unreachable.
      .catch(() => {});
  }
}

D.readyState === "loading" ? D.addEventListener("DOMContentLoaded", run) : run();
