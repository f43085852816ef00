/* Editing and deleting one's own comment, in place: imported on an author's first Edit or
   Delete (thread.js). */

const ownTools = ({ h, T, send, state, announce, CLASS, ui, article, saveEditToken, setCount, hasReplies }) => ({
  edit(li) {
    const c = li.comment, old = li.firstChild, error = h("p", { class: CLASS.error, role: "alert" });
    const text = h("textarea", { "aria-label": T.comment, rows: 5, value: c.body ?? "" });
    const cancel = () => { form.replaceWith(old); li.focus(); };
    const form = h("form", {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const j = await send("PATCH", `/comments/${c.id}`, { body: text.value, edit_token: state.editTokens[c.id] });
          li.comment = { ...j.comment, body: j.comment.body ?? text.value };
          form.replaceWith(article(li.comment, li));
          li.focus();
        } catch (x) { error.textContent = x.message; text.focus(); } // what they wrote stays
      },
    }, text, error, h("div", { class: CLASS.bar }, h("button", { class: CLASS.primary }, T.save),
      h("button", { type: "button", onclick: cancel }, T.cancel)));
    old.replaceWith(form);
    text.focus();
  },

  async remove(li) {
    if (!confirm(T.confirmDeleteComment)) return;
    const c = li.comment;
    try {
      await send("DELETE", `/comments/${c.id}`, { edit_token: state.editTokens[c.id] });
    } catch (x) {
      const ar = li.firstChild;
      (ar.querySelector(`:scope > .${CLASS.error}`) || ar.appendChild(h("p", { class: CLASS.error, role: "alert" }))).textContent = x.message;
      return;
    }
    saveEditToken(c.id, null);
    setCount(-1);
    // A comment with replies stays as a placeholder, so that its replies keep their place.
    if (hasReplies(li)) {
      li.comment = { ...c, status: "deleted" };
      li.firstChild.replaceWith(article(li.comment, li));
    } else li.remove();
    ui.heading.focus();
    announce(T.commentDeletedNotice);
  },
});
