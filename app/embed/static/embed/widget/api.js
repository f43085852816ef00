/* The service's API for this site: the reader's token when signed in, errors thrown in the
   API's one shape with a message fit to show. */
const api = async (path, opts = {}) => {
  let response, json = {};
  const token = state.token, headers = { ...opts.headers };
  // Guests send no custom header, so their reads need no preflight.
  if (token && !opts.guest) headers.Authorization = `Bearer ${token}`;
  try {
    response = await fetch(`${base}/api/v1/sites/${encodeURIComponent(site)}${path}`, { credentials: "omit", ...opts, headers });
  } catch { /* said below, in the page's language */ }
  await wording;
  if (!response) throw { message: T.serviceUnreachable };
  try { json = await response.json(); } catch { /* an empty or non-JSON body */ }
  if (response.ok) return json;
  const e = json.error || {};
  if (response.status === 429) {
    const retryAfter = response.headers.get("Retry-After");
    const s = retryAfter && (isNaN(retryAfter) ? Math.ceil((Date.parse(retryAfter) - Date.now()) / 1e3) : +retryAfter);
    if (s > 0) e.message = counted(T.tooManyAttempts, s);
  }
  if (e.code === "session_expired" && token === state.token) setAuth(null);
  throw { status: response.status, code: e.code, field: e.field, message: e.message || T.serviceUnreachable };
};
const send = (method, path, body) =>
  api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

// Open forms switch between guest and signed-in in place, so nothing typed is lost.
const setAuth = (token, viewer) => {
  store.set(authKey, (state.token = token));
  token || store.set(ssoKey, null);
  state.viewer = token ? viewer : null;
  for (const f of ui.root.querySelectorAll("form")) f.refresh?.();
};

// Merged with what is stored, so two open tabs do not drop each other's tokens.
const saveEditToken = (id, token) => {
  state.editTokens = { ...store.get(tokensKey, {}), ...state.editTokens, [id]: token };
  if (!token) delete state.editTokens[id];
  store.set(tokensKey, Object.keys(state.editTokens).length ? state.editTokens : null);
};
