/* The thread: comments as nested lists, each <li> carrying its comment as `li.comment`. */
const findComment = (id) => ui.root.getElementById(`comment-${id}`);
// This page's address with a comment's anchor: the link readers copy and mails point to.
const permalink = (id) => `${location.href.split("#")[0]}#comment-${id}`;
const hasReplies = (li) => !!li.querySelector(`.${CLASS.comment}`) ||
  (+li.dataset.d === 4 && li.nextElementSibling?.comment?.parent_id === li.comment.id);

const article = (c, li) => {
  if (c.status === "deleted") return h("article", null, h("p", { class: CLASS.deleted }, T.deletedPlaceholder));
  const a = c.author || {}, web = !a.provider && safeUrl(a.website), created = new Date(c.created_at);
  const author = h(web ? "a" : "span", { class: CLASS.author, rel: web && "nofollow ugc" }, a.name || "?");
  if (web) author.href = web;
  const body = h("div", { class: CLASS.body });
  body.innerHTML = c.html; // sanitized by the server: the one place markup is trusted
  const own = c.mine, editable = own && c.editable_until && new Date(c.editable_until) > Date.now();
  return h("article", null,
    h("div", { class: CLASS.meta }, avatar(a), author,
      // By an address its owner proved theirs (a sign-in by email, or a confirmation link).
      a.verified && h("span", { role: "img", "aria-label": T.verified, title: T.verified }, "✓"),
      a.moderator && h("span", { class: CLASS.badge }, T.moderatorBadge),
      c.pinned && h("span", { class: CLASS.badge }, T.pinned),
      h("a", { href: permalink(c.id), title: T.permalink },
        h("time", { datetime: c.created_at, title: intl && created.toLocaleString(locale) }, intl && timeAgo(created))),
      c.edited_at && h("i", null, T.editedMark)),
    body,
    own && c.status === "pending" && h("p", { class: CLASS.pending }, T.awaitingModeration),
    h("div", { class: CLASS.actions },
      c.status === "approved" && [
        h("button", { type: "button", "aria-pressed": String(state.token ? !!c.liked : state.likes.includes(c.id)), disabled: own, onclick: (e) => like(c, e.currentTarget) }, T.like),
        h("span", { class: CLASS.likes }, intl && number(c.likes || 0))],
      !state.closed && h("button", { type: "button", "aria-expanded": "false", onclick: (e) => toggleReply(li, e.currentTarget) }, T.replyButton),
      !own && c.status === "approved" && h("button", { type: "button", "aria-expanded": "false", onclick: (e) => useTool("report", li, c, e.currentTarget) }, T.report),
      editable && h("button", { type: "button", onclick: () => useTool("edit", li) }, T.edit),
      own && h("button", { type: "button", onclick: () => useTool("remove", li) }, T.delete)));
};

// Reporting, moderating, editing and deleting are imported on first use (app/embed/bundle.py).
const tools = () => state.tools ||= import(`${base}/embed/tools.js?v=${TOOLS_VERSION}`)
  .then((m) => m.default({ h, T, send, state, announce, CLASS, ui, article, reloadThread, saveEditToken, setCount, hasReplies }), (x) => { state.tools = null; throw x; });
const useTool = async (name, ...args) => {
  try { (await tools())[name](...args); } catch { announce(T.serviceUnreachable); }
};

const commentItem = (c, depth) => {
  const li = h("li", { id: `comment-${c.id}`, class: CLASS.comment, tabIndex: -1, "data-d": depth });
  li.comment = c;
  li.append(article(c, li));
  return li;
};

// Replies nest up to four levels; deeper ones continue at the fourth, after their parent.
const fillThread = (ol, comments, depth) => {
  for (const c of comments) {
    const li = commentItem(c, depth);
    ol.append(li);
    if (!c.replies?.length) continue;
    if (depth < 4) {
      const sub = h("ol", { class: CLASS.thread });
      li.append(sub);
      fillThread(sub, c.replies, depth + 1);
    } else fillThread(ol, c.replies, depth);
  }
};

const insertComment = (c, parent) => {
  const old = findComment(c.id);
  if (old) { old.comment = c; old.firstChild.replaceWith(article(c, old)); return old; }
  if (!parent) {
    const li = commentItem(c, 1);
    state.sort === "newest" ? ui.list.prepend(li) : ui.list.append(li);
    return li;
  }
  const depth = +parent.dataset.d, li = commentItem(c, Math.min(depth + 1, 4));
  if (depth < 4) {
    let sub = parent.querySelector(":scope > ol");
    if (!sub) parent.append((sub = h("ol", { class: CLASS.thread })));
    sub.append(li);
  } else parent.after(li);
  return li;
};

function toggleReply(li, button) {
  const same = state.openReply?.li === li;
  closeReply();
  if (same) return;
  const form = commentForm(li);
  li.firstChild.after(form);
  button.setAttribute("aria-expanded", "true");
  state.openReply = { li, form, button };
  form.querySelector("textarea").focus();
}

function closeReply(refocus) {
  if (!state.openReply) return;
  const { form, button } = state.openReply;
  state.openReply = null;
  form.remove();
  button.setAttribute("aria-expanded", "false");
  if (refocus) button.focus();
}

// After signing in or out: the thread as the reader now sees it, with an open reply kept open.
async function reloadThread() {
  const id = state.openReply?.li.comment.id;
  await loadThread();
  const li = id && findComment(id);
  if (li) toggleReply(li, li.querySelector(`.${CLASS.actions} [aria-expanded]`));
}

const threadQuery = (page) => {
  const q = new URLSearchParams({ url: pageUrl, sort: state.sort });
  if (page > 1) q.set("page", page);
  return q;
};

// The reader's own comments waiting for approval, which the thread's count leaves out.
const ownPending = (cs) => cs.reduce((n, c) => n + (c.mine && c.status == "pending") + ownPending(c.replies || []), 0);
// About a screen of comments, drawn in the first frame; the rest, and the form, come after it.
// So do the times and numbers of a fresh page: its first formatter (page.js) is slow to make.
const FIRST_SCREEN = 8;

async function loadThread(page) {
  const q = threadQuery(page), load = state.load = {};
  state.pages = page || 1;
  const mine = Object.values(state.editTokens).slice(-50);
  if (mine.length) q.set("mine", mine.join(","));
  ui.more.disabled = true;
  const token = state.token;
  try {
    const j = await api(`/thread?${q}`);
    // A token the service no longer takes is dropped without a word: the reader is a guest.
    if (token === state.token) setAuth(j.session_expired ? null : token, j.viewer);
    state.config = j.config || state.config;
    const t = j.thread || {};
    state.closed = t.closed || (!!t.closes_at && new Date(t.closes_at) < Date.now());
    state.nextPage = j.next_page ?? null;
    ui.status.textContent = "";
    if (!page) { closeReply(); ui.list.replaceChildren(); }
    const before = ui.list.lastElementChild, comments = j.comments || [];
    // The count is of what this reader sees: the approved comments and their own waiting ones.
    state.count = (t.count ?? 0) + ownPending(comments);
    for (const li of ui.list.querySelectorAll(`.${CLASS.comment}`)) state.count += li.comment.mine && li.comment.status == "pending";
    if (intl) setCount();
    // A later page, or a link to a comment, is wanted whole at once.
    const first = page || commentInHash() ? comments.length : FIRST_SCREEN;
    fillThread(ui.list, comments.slice(0, first), 1);
    if (!intl || comments.length > first) {
      // Once that frame is drawn and nothing else waits (Safari has no requestIdleCallback).
      await new Promise((drawn) => requestAnimationFrame(() => (self.requestIdleCallback || setTimeout)(drawn, { timeout: 99 })));
      if (load !== state.load) return; // read again meanwhile: that answer is drawn instead
      if (!intl) {
        formats();
        setCount();
        for (const li of ui.list.querySelectorAll(`.${CLASS.comment}`)) li.firstChild.replaceWith(article(li.comment, li));
      }
      fillThread(ui.list, comments.slice(first), 1);
    }
    if (j.moderation) tools().then((t) => t.moderate(j.moderation.pending), () => {});
    if (page) (before ? before.nextElementSibling : ui.list.firstElementChild)?.focus();
    ui.more.hidden = state.nextPage == null;
    if (!ui.form) ui.widget.append((ui.form = state.closed ? h("p", null, T.commentsClosed) : commentForm(null)), yourDataForm());
  } catch (x) {
    if (["origin_not_allowed", "site_not_found", "url_not_allowed"].includes(x.code)) {
      ui.widget.replaceChildren(h("p", null, T.notAvailable));
      // For the site's owner, who opens the console when their comments do not show.
      if (x.code === "origin_not_allowed") {
        console.warn(`Afterword: ${location.origin} is not an allowed origin of site ${site}. Add it in the dashboard, or run: flask site update ${site} --add-origin ${location.origin}`);
      }
    } else ui.status.textContent = x.message;
  } finally {
    ui.more.disabled = false;
  }
}

// A link to a comment (#comment-42) opens at it, loading the pages before it if need be.
async function showComment(id) {
  let li, pages = 0;
  while (!(li = findComment(id)) && state.nextPage && pages++ < 20) await loadThread(state.nextPage);
  if (!li) return;
  li.scrollIntoView({ block: "center" });
  li.focus({ preventScroll: true });
}
const commentInHash = () => /^#comment-(\d+)$/.exec(location.hash)?.[1];

/* Comments approved while the page is open, found by asking again for the pages on screen.
   Asked as a guest, these are the pages every guest shares: the browser revalidates them with
   their ETag, and the service's cache mostly answers 304. Only new comments are added, where
   they belong, so nothing the reader is reading or typing moves or closes. */
async function refreshThread() {
  let added = 0;
  const merge = (comments, parentLi) => {
    for (const c of comments) {
      let li = findComment(c.id);
      const old = li?.comment;
      if (old?.status === "pending" && c.status === "approved") {
        li.comment = { ...c, mine: old.mine, body: old.body };
        li.firstChild.replaceWith(article(li.comment, li));
      } else if (!li && c.status === "approved" && (parentLi || !state.nextPage || state.sort === "newest")) {
        li = insertComment(c, parentLi);
        added++;
      }
      if (li) merge(c.replies || [], li);
    }
  };
  for (let page = 1; page <= Math.min(state.pages, 3); page++) {
    try {
      merge((await api(`/thread?${threadQuery(page)}`, { cache: "no-cache", guest: true })).comments || [], null);
    } catch { return; } // offline for a moment: the next round tries again
  }
  if (!added) return;
  setCount(added);
  announce(counted(T.newComment, added));
}

// One like per reader: the service counts it once per account, or per browser for a guest,
// whose likes are remembered here (a signed-in reader's come with the thread).
async function like(c, button) {
  const on = button.getAttribute("aria-pressed") != "true";
  try {
    const j = await send(on ? "PUT" : "DELETE", `/comments/${c.id}/like`, { browser: state.browser });
    c.likes = j.likes;
    c.liked = j.liked;
    button.setAttribute("aria-pressed", j.liked);
    button.nextSibling.textContent = number(j.likes);
    if (!state.token) store.set(likesKey, (state.likes = [...state.likes.filter((id) => id != c.id), ...(j.liked ? [c.id] : [])].slice(-500)));
  } catch (x) { announce(x.message); }
}
