/* Moderating on the page, for a moderator signed in with a provider account they linked on
   the dashboard: the thread's waiting comments above it with Approve, Reject and Spam, and
   Pin or Unpin on each published top-level comment. The thread's answer carries the waiting
   comments (`moderation`); each button is one request, then the thread is read again. */

const moderateTools = ({ h, T, send, announce, CLASS, ui, article, reloadThread }) => {
  const act = async (c, action, done) => {
    try {
      await send("POST", `/comments/${c.id}/moderate`, { action });
      await reloadThread();
      announce(T[done]);
    } catch (x) { announce(x.message); }
  };
  const buttons = (c, actions) => actions.map(([action, label, done]) =>
    h("button", { type: "button", onclick: () => act(c, action, done) }, T[label]));

  return (pending) => {
    ui.moderation?.remove();
    ui.moderation = null;
    for (const li of ui.list.children) {
      const c = li.comment;
      if (c?.status === "approved") {
        li.querySelector(`.${CLASS.actions}`)?.append(...buttons(c, [c.pinned ? ["unpin", "unpin", "unpinnedNotice"] : ["pin", "pin", "pinned"]]));
      }
    }
    if (!pending.length) return;
    const items = pending.map((c) => {
      const li = h("li", { class: CLASS.comment });
      li.comment = c;
      li.append(article(c, li));
      li.querySelector(`.${CLASS.actions}`).replaceChildren(...buttons(c, [
        ["approve", "approve", "approvedNotice"], ["reject", "reject", "rejectedNotice"], ["spam", "reasonSpam", "spamNotice"]]));
      return li;
    });
    ui.moderation = h("section", { "aria-labelledby": "aw-waiting" },
      h("h3", { id: "aw-waiting" }, `${T.waitingForApproval} (${pending.length})`),
      h("ol", { class: CLASS.thread }, items));
    ui.list.before(ui.moderation);
  };
};
