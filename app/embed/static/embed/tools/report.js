/* Reporting a comment: a reason (and perhaps a note) in a small form under it. Imported by the
   widget on a reader's first Report, or at once for a moderator (thread.js), which hands over
   what it needs of itself. */

const REASONS = [["spam", "reasonSpam"], ["abuse", "reasonAbuse"], ["off_topic", "reasonOffTopic"], ["other", "reasonOther"]];

export default (widget) => {
  const { h, T, send, state, announce, CLASS } = widget;
  // English until the page's language came in; a translation already there stays.
  for (const [k, v] of Object.entries(STRINGS)) T[k] ??= v;

  const report = (li, c, button) => {
    if (li.reportForm) return li.reportForm.close();
    const n = `aw-r${c.id}-`;
    const error = h("p", { class: CLASS.error, role: "alert" });
    const close = (focus = true) => {
      form.remove();
      li.reportForm = null;
      button.setAttribute("aria-expanded", "false");
      if (focus) button.focus();
    };
    const form = h("form", {
      onkeydown: (e) => e.key === "Escape" && (e.preventDefault(), close()),
      onsubmit: async (e) => {
        e.preventDefault();
        const sendButton = form.querySelector(`.${CLASS.primary}`);
        sendButton.disabled = true;
        try {
          await send("POST", `/comments/${c.id}/report`, { reason: form.elements.reason.value, note: form.elements.note.value, browser: state.browser });
          close(false);
          // Reported once: the button stays as a quiet record of it.
          const thanks = h("p", { tabIndex: -1 }, T.reportThanks);
          button.disabled = true;
          button.parentNode.after(thanks);
          thanks.focus();
          announce(T.reportThanks);
        } catch (x) {
          error.textContent = x.message; // what they chose and wrote stays
          sendButton.disabled = false;
        }
      },
    },
    h("fieldset", null, h("legend", null, T.reportWhy),
      REASONS.map(([value, key], i) => h("div", { class: `${CLASS.field} ${CLASS.checkbox}` },
        h("input", { type: "radio", name: "reason", value, id: n + i, required: true }),
        h("label", { htmlFor: n + i }, T[key])))),
    h("div", { class: CLASS.field }, h("label", { htmlFor: `${n}note` }, T.reportNote),
      h("input", { id: `${n}note`, name: "note", maxLength: 500 })),
    error,
    h("div", { class: CLASS.bar }, h("button", { class: CLASS.primary }, T.sendReport),
      h("button", { type: "button", onclick: () => close() }, T.cancel)));
    form.close = close;
    li.reportForm = form;
    button.setAttribute("aria-expanded", "true");
    button.parentNode.after(form);
    form.querySelector("input").focus();
  };
  return { report, moderate: moderateTools(widget), ...ownTools(widget) };
};
