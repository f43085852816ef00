/* The comment form, for the post (parentLi null) or as a reply under a comment. It shows the
   guest fields or the signed-in reader's account, and switches in place (form.refresh). */
function commentForm(parentLi) {
  const n = ++state.formCount, id = (s) => `aw-${s}${n}`, parentId = parentLi?.comment.id;
  const guest = store.get(guestKey, {}), draft = draftKey(parentId);
  // A reply asks a guest for nothing the widget already knows.
  const known = parentLi && guest.name && guest.email;
  const error = h("p", { class: CLASS.error, role: "alert", id: id("e") });
  const field = (name, label, type, autocomplete, required) => h("div", { class: CLASS.field },
    h("label", { htmlFor: id(name) }, label),
    h("input", { id: id(name), name, type, autocomplete, required, value: guest[name] || "" }));
  const text = h("textarea", { id: id("body"), name: "body", rows: 5, required: true, value: store.get(draft, "") });
  let idempotencyKey = null, busy = false, lastSignInButton;
  const openedAt = Date.now(); // how long the form was open: bots post in an instant
  // Mastodon first asks which server (the reader's own, among thousands), email the address.
  const boxes = [];
  let serverBox = null;
  const ask = (p, label, name, autocomplete, placeholder) => {
    const input = h("input", { id: id(name), name, autocomplete, placeholder, type: autocomplete, value: store.get(KEY_PREFIX + p.name, ""),
      onkeydown: (e) => e.key == "Enter" && (e.preventDefault(), go()) });
    const go = () => { store.set(KEY_PREFIX + p.name, input.value.trim()); signIn(p, form, (lastSignInButton = input), input.value.trim()); };
    const box = h("div", { class: CLASS.field, hidden: true }, h("label", { htmlFor: id(name) }, label),
      h("div", { class: CLASS.bar }, input, h("button", { type: "button", onclick: go }, T.continue)));
    boxes.push(box);
    if (p.name == "mastodon") serverBox = box;
    return box;
  };
  const providers = h("div", { class: CLASS.bar }, (state.config.providers || []).map((p) => {
    const label = format(T.logInWith, labelOf(p)), box = p.name == "mastodon" ? ask(p, T.mastodonServer, "server", "url", "mastodon.social")
      : p.name == "email" && ask(p, T.emailAddress, "address", "email");
    const b = h("button", { type: "button", class: CLASS.provider, "aria-label": label, title: label, "aria-expanded": box ? "false" : null,
      onclick: () => box ? (b.setAttribute("aria-expanded", box.hidden = !box.hidden), box.hidden || box.querySelector("input").focus())
        : signIn(p, form, (lastSignInButton = b)) },
    p.mark ? mark(p.mark) : h("span", { "aria-hidden": "true" }, [...p.label][0]));
    return b;
  }));
  const connecting = h("span", { role: "status" });
  const connectingBar = h("div", { class: CLASS.bar, hidden: true }, connecting,
    h("button", { type: "button", onclick: () => state.signInFlow && (state.signInFlow.popup?.close(), endSignIn(state.signInFlow)) }, T.cancel));
  const account = h("div", { hidden: true });
  // A disabled fieldset keeps the guest fields out of a signed-in reader's post.
  const guestFields = h("fieldset", null, h("p", null, T.guestIntro), providers, boxes,
    field("email", T.email, "email", "email", true),
    field("name", T.name, "text", "name", true),
    field("website", T.website, "url", "url", false));

  // Preview: the server's own rendering of the text (never a second Markdown in here).
  const shown = h("div", { class: CLASS.body, hidden: true, tabIndex: -1 });
  const write = () => { shown.hidden = true; text.hidden = false; previewButton.textContent = T.preview; };
  const previewButton = h("button", { type: "button", onclick: async () => {
    if (!shown.hidden) return write(), text.focus();
    try {
      shown.innerHTML = (await send("POST", "/preview", { body: text.value })).html; // sanitized by the server
      error.textContent = "";
      text.hidden = !(shown.hidden = false);
      previewButton.textContent = T.write;
      shown.focus();
    } catch (x) { error.textContent = x.message; }
  } }, T.preview);
  const notifyEmail = h("div", { class: CLASS.field, hidden: true },
    h("label", { htmlFor: id("ne") }, T.notificationEmail),
    h("input", { id: id("ne"), name: "notify_email", type: "email", autocomplete: "email", disabled: true }));
  const form = h("form", {
    noValidate: true, "aria-labelledby": id("h"),
    onkeydown: (e) => parentLi && e.key === "Escape" && closeReply(true),
    oninput: () => {
      store.set(draft, text.value);
      const g = {};
      for (const k of ["name", "email", "website"]) g[k] = form.elements.namedItem(k).value;
      store.set(guestKey, g);
    },
    onsubmit: async (e) => {
      e.preventDefault();
      if (busy) return;
      busy = true;
      form.setAttribute("aria-busy", "true");
      for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      const v = Object.fromEntries(new FormData(form));
      idempotencyKey ||= uuid(); // kept until success, so a retry after a lost answer is not stored twice
      try {
        const j = await send("POST", "/comments", {
          url: pageUrl, title: pageTitle, parent_id: parentId ?? null, parent_edit_token: state.editTokens[parentId], body: v.body, name: v.name, email: v.email,
          website: v.website || undefined, notify: !!v.notify, notify_replies: !!v.notify_replies, notify_email: v.notify_email, idempotency_key: idempotencyKey,
          hp: v.hp || "", fill_ms: Date.now() - openedAt,
        });
        idempotencyKey = null;
        error.textContent = "";
        const c = j.comment;
        c.body ??= v.body;
        // A signed-in reader's own comments follow their token, not edit tokens kept here.
        if (j.edit_token && !state.token) saveEditToken(c.id, j.edit_token);
        store.set(draft, null);
        text.value = "";
        write();
        const fresh = !findComment(c.id);
        const li = insertComment(c, parentLi);
        if (fresh) setCount(1);
        if (parentLi) closeReply();
        li.focus();
        announce(T.commentPosted);
      } catch (x) {
        // Only a lost or failed answer may have stored it; what the service decided, a changed comment sends anew.
        if (x.status < 500) idempotencyKey = null;
        error.textContent = x.message;
        const el = x.field && form.elements.namedItem(x.field);
        if (el && guestFields.contains(el)) guestFields.hidden = false;
        if (el) { el.setAttribute("aria-invalid", "true"); el.setAttribute("aria-describedby", id("e")); el.focus(); }
      } finally {
        busy = false;
        form.removeAttribute("aria-busy");
      }
    },
  },
  h(parentLi ? "h3" : "h2", { id: id("h") }, parentLi ? format(T.replyingTo, parentLi.comment.author?.name || "?") : T.leaveReply),
  account, connectingBar, guestFields,
  // Left empty by people (hidden from them and from assistive tech); bots fill it in.
  h("div", { class: CLASS.honeypot, "aria-hidden": "true" },
    h("input", { name: "hp", tabIndex: -1, autocomplete: "off", "aria-label": "hp" })),
  h("div", { class: CLASS.field }, h("label", { htmlFor: id("body") }, T.comment), text, shown),
  error,
  h("div", { class: CLASS.bar },
    h("button", { class: CLASS.primary }, T.postComment), previewButton,
    parentLi && h("button", { type: "button", onclick: () => closeReply(true) }, T.cancel)),
  [["notify", T.notifyByEmail], ["notify_replies", T.notifyReplies]].map(([name, label]) => h("div", { class: `${CLASS.field} ${CLASS.checkbox}` },
    h("input", { type: "checkbox", id: id(name), name, onchange: () => form.refresh() }),
    h("label", { htmlFor: id(name) }, label))),
  // A signed-in reader has no email on file: asked for only when they want mail.
  notifyEmail);
  const showError = (x) => (error.textContent = x.message);
  form.refresh = () => {
    const viewer = state.viewer;
    notifyEmail.hidden = notifyEmail.lastChild.disabled =
      !(viewer && !viewer.notify_email_known && (form.elements.notify.checked || form.elements.notify_replies.checked));
    guestFields.disabled = !!viewer;
    guestFields.hidden = !!viewer || known;
    account.hidden = !viewer;
    account.replaceChildren(...(viewer ? [
      h("div", { class: CLASS.meta }, avatar(viewer), h("b", { class: CLASS.author }, viewer.name)),
      h("p", { class: CLASS.account }, format(T.commentingAs, labelOf({ name: viewer.provider, label: viewer.provider_label })),
        h("button", { type: "button", onclick: () => signOut(form, "[name=email]") }, T.logOut),
        h("button", { type: "button", onclick: () => signOut(form, `.${CLASS.provider}`) }, T.changeAccount)),
      // The reader's own data: a copy of it, or the account gone with all its comments.
      !parentLi && h("p", { class: `${CLASS.account} ${CLASS.actions}` },
        h("button", { type: "button", onclick: () => api("/me/export").then(saveFile, showError) }, T.downloadMyComments),
        h("button", { type: "button", onclick: () => confirm(T.confirmDeleteAccount) &&
          send("DELETE", "/me", { confirm: true }).then(() => signOut(form, "[name=email]"), showError) }, T.deleteMyAccount)),
      // Another provider's account joins this one: the sign-in carries the reader's token.
      // Not email: its address field is the guest's. Mastodon asks for the server here too,
      // in the box the guest form had.
      // A site's own reader's account is the site's: nothing joins it.
      h("div", { class: CLASS.bar }, (state.config.providers || []).filter((p) => p.name !== viewer.provider && p.name != "email" && viewer.provider != "sso")
        .map((p) => h("button", { type: "button", onclick: (e) => (lastSignInButton = e.currentTarget, p.name == "mastodon"
          ? (serverBox.hidden = false, serverBox.querySelector("input").focus()) : signIn(p, form, lastSignInButton)) },
          format(T.linkProvider, p.label)))), serverBox] : []));
    // Signed in, the server box waits closed under the account; as a guest it is back among the buttons.
    if (serverBox) viewer ? (serverBox.hidden = true) : providers.after(serverBox);
  };
  // While a sign-in runs, the provider buttons give way to "Connecting…" and Cancel.
  form.signInStarted = (label, message) => {
    providers.hidden = true;
    connectingBar.hidden = false;
    connecting.textContent = message || format(T.connectingTo, label);
    error.textContent = "";
    connectingBar.lastChild.focus();
  };
  form.signInEnded = (message) => {
    const back = connectingBar.contains(ui.root.activeElement);
    providers.hidden = false;
    connectingBar.hidden = true;
    connecting.textContent = "";
    error.textContent = message || "";
    if (back) lastSignInButton?.focus();
  };
  form.refresh();
  return form;
}

// A guest proves the address is theirs by opening a link mailed to it; the answer is the
// same whether or not it wrote anything.
function yourDataForm() {
  const note = h("p"), email = h("input", { type: "email", required: true, "aria-labelledby": "aw-pd",
    placeholder: T.email, value: store.get(guestKey, {}).email || "" });
  const form = h("form", {
    onsubmit: (ev) => {
      ev.preventDefault();
      send("POST", "/privacy/requests", { email: email.value })
        .then(() => T.linkSent, (x) => x.message).then((m) => announce(note.textContent = m));
    },
  }, h("div", { class: CLASS.field }, email), h("button", null, T.sendMeALink), note);
  const details = h("details", null, h("summary", { id: "aw-pd" }, T.yourData), form);
  form.refresh = () => (details.hidden = !!state.viewer);
  form.refresh();
  return details;
}
