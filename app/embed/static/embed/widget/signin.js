/* Sign-in runs in a popup on the service's origin, or in the page itself when popups are
   blocked. The service hands a one-time code to this page and nothing else: by postMessage,
   or, when a provider's Cross-Origin-Opener-Policy cut the popup off, by opening this page
   in the popup with the code in the fragment, whence it comes here on a BroadcastChannel.
   The claim needs the code and the flow's secret, which never leaves this page: a flow
   finished elsewhere, or a code planted in a link, signs nobody in. */

// Same-origin pages only: where a popup cut off from its opener hands over its code.
const loginChannel = self.BroadcastChannel ? new BroadcastChannel(loginKey) : null;

async function signIn(provider, form, _button, server) {
  // Before any await: browsers allow a popup only within the click itself. Email needs none.
  const mailed = provider.name == "email", popup = !mailed && open("about:blank", "afterword-login", "popup,width=600,height=700");
  if (state.signInFlow) endSignIn(state.signInFlow);
  const flow = (state.signInFlow = { popup, form });
  form.signInStarted(labelOf(provider));
  try {
    const j = await send("POST", "/logins", { provider: provider.name, [mailed ? "address" : "server"]: server, popup: !!popup, return_url: location.href.split("#")[0] });
    if (state.signInFlow !== flow) return;
    flow.id = j.flow;
    flow.secret = j.secret;
    // The mailed link opens another tab: the secret waits for it in localStorage.
    if (mailed) return store.set(loginKey, { id: j.flow, secret: j.secret }), form.signInStarted(0, T.checkEmail);
    if (!popup) return tabStore(loginKey, { id: j.flow, secret: j.secret }), location.assign(j.start_url);
    popup.location.href = j.start_url;
    flow.watchTimer = setInterval(() => watchPopup(flow), 1e3);
  } catch (x) {
    if (state.signInFlow === flow) { popup?.close(); endSignIn(flow, x.message); } // else the window serves a newer flow
  }
}

/* `closed` is also what an opener cut off by the provider reports. After a grace period the
   form comes back, but the page goes on listening until another sign-in starts. */
const watchPopup = (flow) => {
  if (flow.popup.closed && !flow.graceTimer) {
    flow.graceTimer = setTimeout(() => { flow.quiet = 1; flow.form.signInEnded(T.signInWindowClosed); }, 5e3);
  }
};

const endSignIn = (flow, message) => {
  clearInterval(flow.watchTimer);
  clearTimeout(flow.graceTimer);
  if (state.signInFlow === flow) state.signInFlow = null;
  if (!flow.quiet || !message) flow.form.signInEnded(message); // the form already came back when it went quiet
};

// A flow is claimed once: a second code for it is ignored.
async function claimSignIn(flow, code) {
  if (flow.claiming) return;
  flow.claiming = 1;
  try {
    const j = await send("POST", `/logins/${flow.id}/claim`, { secret: flow.secret, code });
    if (state.signInFlow !== flow) return;
    endSignIn(flow);
    setAuth(j.token, j.viewer);
    announce(T.signedIn);
    flow.quiet || flow.form.elements.body.focus();
    return reloadThread();
  } catch (x) {
    if (state.signInFlow === flow) endSignIn(flow, x.message);
  }
}

// The code for this page's own flow, from its popup or from a popup cut off from it.
const codeHandedOver = (m) => {
  const flow = state.signInFlow;
  if (!flow?.id || m?.type !== "afterword:login" || m.flow !== flow.id || typeof m.code !== "string") return;
  claimSignIn(flow, m.code);
  return 1;
};

const listenForSignInCodes = () => {
  addEventListener("message", (e) => e.origin === base && codeHandedOver(e.data));
  loginChannel?.addEventListener("message", (e) =>
    codeHandedOver(e.data) && loginChannel.postMessage({ type: "afterword:claimed", flow: e.data.flow }));
  // Signed in or out in another tab (as by a mailed link, which opens one): so is this one.
  addEventListener("storage", (e) => e.key == authKey && (state.signInFlow && endSignIn(state.signInFlow), state.token = store.get(authKey, null), reloadThread()));
};

// Log Out leads on to the guest fields, Change to the provider buttons.
const signOut = (form, focusNext) => {
  setAuth(null);
  form.querySelector(focusNext)?.focus();
  reloadThread(); // the thread as a guest sees it
};

/* Back from a sign-in with a code in the fragment: this page's own full-page sign-in, whose
   secret it kept for the trip; or a popup cut off from its opener, which passes the code to
   the page waiting for it and closes. Anything else (a link someone sent) is dropped.
   Resolves to the message of a claim that failed, if any. */
async function returnFromSignIn() {
  const m = /(^#|&)afterword-login=([\w-]+)\.([\w-]+)/.exec(location.hash);
  if (!m) return siteSignIn(); // back from a sign-in, the reader chose whom to be
  const rest = location.hash.replace(m[0], "").replace(/^#?&?/, "");
  history.replaceState(history.state, "", location.href.split("#")[0] + (rest && `#${rest}`));
  // A full-page sign-in's flow is this tab's; a mailed link's, the browser's.
  const mine = [tabStore(loginKey), store.get(loginKey)].find((f) => f?.id === m[2]);
  tabStore(loginKey, null);
  if (mine) {
    store.set(loginKey, null);
    try {
      const j = await send("POST", `/logins/${m[2]}/claim`, { secret: mine.secret, code: m[3] });
      setAuth(j.token, j.viewer);
      announce(T.signedIn);
    } catch (x) { return x.message; }
  } else if (loginChannel) {
    loginChannel.addEventListener("message", (e) => {
      if (e.data?.type === "afterword:claimed" && e.data.flow === m[2]) { close(); announce(T.signedIn); }
    });
    loginChannel.postMessage({ type: "afterword:login", flow: m[2], code: m[3] });
  }
}

/* data-sso: the host site's own signed-in reader, exchanged for a token only when this browser
   holds none for them (setAuth forgets whom a token was for when it drops it), so that later
   pages cost no request more. Gone from the page, the site signed them out: so are the
   comments. Run once per page view: after Log Out, the reader stays out until the next. */
async function siteSignIn(sso = options.sso) {
  if (!sso) return store.get(ssoKey) && setAuth(null);
  try {
    const who = JSON.parse(atob(sso.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).id;
    if (who === store.get(ssoKey, 0)) return;
    const j = await send("POST", "/sso", { sso });
    setAuth(j.token, j.viewer);
    store.set(ssoKey, who);
  } catch (x) { console.warn(x); } // for the site's owner
}
