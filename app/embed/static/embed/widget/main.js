/* The one mutable state of the widget, and its fixed elements (ui), set up by start(). */
const state = {
  config: {}, // the site's settings from the last thread read: sign-in providers
  sort: "oldest",
  nextPage: null,
  count: 0,
  openReply: null, // { li, form, button } of the reply form open under a comment
  formCount: 0, // numbers the forms, for their element ids
  token: null, // the reader's session token, read from storage by start()
  viewer: null,
  signInFlow: null, // { id, secret, popup, form, watchTimer, graceTimer, quiet, claiming }
  editTokens: store.get(tokensKey, {}), // comment id -> edit token of the reader's own comments
  likes: store.get(likesKey, []), // ids of the comments this browser liked as a guest
  browser: null, // this browser's random id, which a guest's likes are counted by
};
const ui = {};

const announce = (message) => {
  ui.live.textContent = "";
  setTimeout(() => (ui.live.textContent = message), 50);
};
const setCount = (delta = 0) => {
  state.count += delta;
  ui.heading.textContent = countText(state.count);
};

const target = () => D.querySelector(options.target || "#afterword");
function start() {
  const host = target();
  if (!host || host.shadowRoot) return;
  ui.root = host.attachShadow({ mode: "open" });
  state.token = store.get(authKey, null);
  store.set(browserKey, (state.browser = store.get(browserKey, null) || uuid()));
  ui.live = h("div", { class: CLASS.visuallyHidden, "aria-live": "polite" });
  ui.heading = h("h2", { tabIndex: -1 });
  ui.list = h("ol", { class: CLASS.thread });
  ui.more = h("button", { type: "button", hidden: true, onclick: () => loadThread(state.nextPage) });
  ui.status = h("p", { class: CLASS.error, role: "alert" });
  ui.widget = h("div", { class: CLASS.widget, "data-theme": theme, lang: locale, dir: RTL.includes(lang) ? "rtl" : "ltr" },
    ui.live, ui.heading, ui.status, ui.list, ui.more);
  ui.root.append(h("style", null, CSS), ui.widget);
  // Labelled once the wording is in, which is before the thread's answer is shown (api.js).
  wording.then(() => {
    ui.heading.textContent ||= T.loadingComments;
    ui.more.textContent = T.loadMore;
    const sorter = h("select", { id: "aw-sort", onchange: (e) => { state.sort = e.target.value; loadThread(); } },
      [["oldest", T.sortOldest], ["newest", T.sortNewest], ["best", T.sortBest]].map(([value, label]) => h("option", { value }, label)));
    const feed = `${base}/feeds/sites/${site}/thread.atom?url=${encodeURIComponent(pageUrl)}`;
    ui.heading.after(h("div", { class: CLASS.bar }, h("label", { htmlFor: "aw-sort" }, T.sortBy), sorter,
      h("a", { href: feed, type: "application/atom+xml" }, T.commentsFeed)));
  });

  listenForSignInCodes();
  const begin = async () => {
    const message = await returnFromSignIn();
    await loadThread();
    if (message) ui.form.signInEnded?.(message);
    if (commentInHash()) showComment(commentInHash());
  };
  // New comments every 20 seconds, while the reader can see the page.
  let lastRefresh = Date.now();
  const refresh = () => {
    if (D.visibilityState !== "visible" || Date.now() - lastRefresh < 19e3 || !ui.form) return;
    lastRefresh = Date.now();
    refreshThread();
  };
  setInterval(refresh, 20e3);
  D.addEventListener("visibilitychange", refresh);
  addEventListener("hashchange", () => commentInHash() && showComment(commentInHash()));
  setInterval(() => {
    for (const t of ui.root.querySelectorAll("time")) t.textContent = timeAgo(new Date(t.dateTime));
  }, 60e3);
  // data-loading="lazy": the thread is fetched once the reader nears it (or a link points in).
  if (options.loading !== "lazy" || commentInHash() || tabStore(loginKey) || store.get(loginKey)) return begin();
  const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && (seen.disconnect(), begin()),
    { rootMargin: "600px" });
  seen.observe(host);
}

// At once when the element is already there, even while the rest of the page is still being
// parsed (a slow script further down holds it back, and DOMContentLoaded with it).
D.readyState === "loading" && !target() ? D.addEventListener("DOMContentLoaded", start) : start();
