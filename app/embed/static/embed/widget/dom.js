/* h("a", {class: "x", onclick: f}, "text", child): properties where the element has them,
   attributes otherwise; strings become text nodes, never markup. */
const h = (tag, attrs, ...kids) => {
  const e = D.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e && !k.includes("-")) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.flat().filter((k) => k != null && k !== false));
  return e;
};

// Storage may be disabled or full; the widget then simply forgets between visits.
const store = {
  get(k, f) { try { return JSON.parse(localStorage.getItem(k)) ?? f; } catch { return f; } },
  set(k, v) {
    try { v == null || v === "" ? localStorage.removeItem(k) : localStorage.setItem(k, JSON.stringify(v)); } catch { /* ignore */ }
  },
};
// The flow a full-page sign-in left to finish: for this tab only, and only until it is back.
const tabStore = (k, v) => {
  try {
    if (v === undefined) return JSON.parse(sessionStorage.getItem(k));
    v ? sessionStorage.setItem(k, JSON.stringify(v)) : sessionStorage.removeItem(k);
  } catch { return null; }
};

const uuid = () => crypto.randomUUID?.() ??
  // randomUUID needs a secure context; plain-http blogs still get a random v4 id.
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

// A provider's mark: path data from the service's own list (never from a reader), drawn as SVG.
const mark = ({ path, color }) => {
  const svg = D.createElementNS("http://www.w3.org/2000/svg", "svg"), p = D.createElementNS(svg.namespaceURI, "path");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  p.setAttribute("d", path);
  p.setAttribute("fill", color || "currentColor");
  svg.append(p);
  return svg;
};

// Most comments have no website nor avatar: not throwing for those keeps a long page cheaper.
const safeUrl = (u) => {
  try { const x = u && new URL(u); return /^https?:$/.test(x?.protocol) ? x.href : ""; } catch { return ""; }
};

const timeAgo = (t) => {
  let v = (t - Date.now()) / 1e3;
  for (const [n, unit] of [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [1 / 0, "year"]]) {
    if (Math.abs(v) < n) return formats()[0].format(Math.round(v), unit);
    v /= n;
  }
};

const avatar = (a) => {
  const src = safeUrl(a.avatar_url);
  if (src.startsWith("https:")) {
    const img = h("img", { class: CLASS.avatar, alt: "", loading: "lazy", referrerPolicy: "no-referrer" });
    img.src = src;
    return img;
  }
  let n = 0;
  for (const ch of a.avatar_seed || a.name || "") n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  const s = h("span", { class: CLASS.avatar, "aria-hidden": "true" }, ([...(a.name || "?").trim()][0] || "?").toUpperCase());
  s.style.background = `hsl(${n % 360} 42% 38%)`;
  return s;
};

// Saved as a file by the browser itself: the export never leaves the reader's machine.
const saveFile = (json) => {
  const a = h("a", { download: "comments.json", href: URL.createObjectURL(new Blob([JSON.stringify(json, null, 1)])) });
  ui.widget.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1e4);
};
