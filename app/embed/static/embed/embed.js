/* Afterword comment widget. Plain JS, no dependencies: the whole widget is this one file.
   Usage: <div id="afterword"></div>
          <script src="https://comments.example/embed.js" data-site="SITE_ID" async></script> */
(() => {
  "use strict";
  const D = document;
  // `async` scripts have no currentScript once the page moved on, hence the selector.
  const S = D.currentScript || D.querySelector('script[src*="embed.js"][data-site]');
  if (!S) return;

  const STR = {
    en: {
      reply: "Leave a Reply", intro: "Fill in your details below or click an icon to log in:",
      login: "Log in with {0}", email: "Email", name: "Name", website: "Website",
      comment: "Comment", post: "Post Comment", notify: "Notify me of new comments via email.", nmail: "Email for notifications",
      replyBtn: "Reply", pending: "Your comment is awaiting moderation.",
      na: "Comments are not available on this page.", deleted: "This comment was deleted.", mod: "Moderator",
      one: "{0} Comment", many: "{0} Comments", feed: "Comments feed", sort: "Sort by", oldest: "Oldest",
      newest: "Newest", best: "Best", more: "Load more", edit: "Edit", del: "Delete",
      save: "Save", cancel: "Cancel", sure: "Delete this comment?", posted: "Comment posted",
      gone: "Comment deleted", edited: "edited", loading: "Loading comments…",
      retry: "Too many attempts. Please try again in {0} seconds.",
      net: "The comment service could not be reached. Please try again.",
      conn: "Connecting to {0}…", using: "You are commenting using your {0} account.",
      out: "Log Out", change: "Change", link: "Link {0}", closed: "The sign-in window was closed.", signed: "Signed in",
      dl: "Download my comments", rm: "Delete my account", rmq: "Delete your account and all your comments? This cannot be undone.",
      data: "Your data", send: "Send me a link", sent: "If that address wrote here, a link is on its way.",
    },
    de: {
      reply: "Schreibe einen Kommentar",
      intro: "Trage deine Daten unten ein oder klicke auf ein Symbol, um dich anzumelden:",
      login: "Anmelden mit {0}", email: "E-Mail", name: "Name", website: "Website",
      comment: "Kommentar", post: "Kommentar absenden",
      notify: "Benachrichtige mich per E-Mail über neue Kommentare.", nmail: "E-Mail für Benachrichtigungen", replyBtn: "Antworten",
      pending: "Dein Kommentar wartet auf Freigabe.",
      na: "Kommentare sind auf dieser Seite nicht verfügbar.",
      deleted: "Dieser Kommentar wurde gelöscht.", mod: "Moderation", feed: "Kommentar-Feed", one: "{0} Kommentar", many: "{0} Kommentare",
      sort: "Sortieren nach", oldest: "Älteste", newest: "Neueste", best: "Beste",
      more: "Mehr laden", edit: "Bearbeiten", del: "Löschen", save: "Speichern",
      cancel: "Abbrechen", sure: "Diesen Kommentar löschen?", posted: "Kommentar gesendet",
      gone: "Kommentar gelöscht", edited: "bearbeitet", loading: "Kommentare werden geladen…",
      retry: "Zu viele Versuche. Bitte versuche es in {0} Sekunden erneut.",
      net: "Der Kommentardienst ist nicht erreichbar. Bitte versuche es erneut.",
      conn: "Verbindung mit {0} wird hergestellt…", using: "Du kommentierst mit deinem {0}-Konto.",
      out: "Abmelden", change: "Ändern", link: "{0} verknüpfen", closed: "Das Anmeldefenster wurde geschlossen.",
      signed: "Angemeldet", dl: "Meine Kommentare herunterladen", rm: "Mein Konto löschen",
      rmq: "Dein Konto und alle deine Kommentare löschen? Das lässt sich nicht rückgängig machen.",
      data: "Deine Daten", send: "Schick mir einen Link", sent: "Wenn diese Adresse hier geschrieben hat, ist ein Link unterwegs.",
    },
    fr: {
      reply: "Laisser un commentaire",
      intro: "Entrez vos coordonnées ci-dessous ou cliquez sur une icône pour vous connecter :",
      login: "Se connecter avec {0}", email: "E-mail", name: "Nom", website: "Site web",
      comment: "Commentaire", post: "Publier le commentaire",
      notify: "M’avertir des nouveaux commentaires par e-mail.", nmail: "E-mail pour les notifications", replyBtn: "Répondre",
      pending: "Votre commentaire est en attente de modération.",
      na: "Les commentaires ne sont pas disponibles sur cette page.",
      deleted: "Ce commentaire a été supprimé.", mod: "Modération", feed: "Flux des commentaires", one: "{0} commentaire",
      many: "{0} commentaires", sort: "Trier par", oldest: "Les plus anciens",
      newest: "Les plus récents", best: "Les meilleurs", more: "Afficher plus",
      edit: "Modifier", del: "Supprimer", save: "Enregistrer", cancel: "Annuler",
      sure: "Supprimer ce commentaire ?", posted: "Commentaire publié",
      gone: "Commentaire supprimé", edited: "modifié", loading: "Chargement des commentaires…",
      retry: "Trop de tentatives. Réessayez dans {0} secondes.",
      net: "Le service de commentaires est injoignable. Veuillez réessayer.",
      conn: "Connexion à {0}…", using: "Vous commentez avec votre compte {0}.",
      out: "Se déconnecter", change: "Changer", link: "Associer {0}", closed: "La fenêtre de connexion a été fermée.",
      signed: "Connecté", dl: "Télécharger mes commentaires", rm: "Supprimer mon compte",
      rmq: "Supprimer votre compte et tous vos commentaires ? C’est définitif.",
      data: "Vos données", send: "Envoyez-moi un lien", sent: "Si cette adresse a écrit ici, un lien est en route.",
    },
    es: {
      reply: "Deja una respuesta",
      intro: "Introduce tus datos o haz clic en un icono para iniciar sesión:",
      login: "Iniciar sesión con {0}", email: "Correo electrónico", name: "Nombre",
      website: "Sitio web", comment: "Comentario", post: "Publicar comentario",
      notify: "Avisarme de nuevos comentarios por correo electrónico.", nmail: "Correo para avisos", replyBtn: "Responder",
      pending: "Tu comentario está pendiente de moderación.",
      na: "Los comentarios no están disponibles en esta página.",
      deleted: "Este comentario fue eliminado.", mod: "Moderación", feed: "Feed de comentarios", one: "{0} comentario", many: "{0} comentarios",
      sort: "Ordenar por", oldest: "Más antiguos", newest: "Más recientes", best: "Mejores",
      more: "Cargar más", edit: "Editar", del: "Eliminar", save: "Guardar", cancel: "Cancelar",
      sure: "¿Eliminar este comentario?", posted: "Comentario publicado",
      gone: "Comentario eliminado", edited: "editado", loading: "Cargando comentarios…",
      retry: "Demasiados intentos. Inténtalo de nuevo en {0} segundos.",
      net: "No se pudo conectar con el servicio de comentarios. Inténtalo de nuevo.",
      conn: "Conectando con {0}…", using: "Estás comentando con tu cuenta de {0}.",
      out: "Cerrar sesión", change: "Cambiar", link: "Vincular {0}", closed: "Se cerró la ventana de inicio de sesión.",
      signed: "Sesión iniciada", dl: "Descargar mis comentarios", rm: "Eliminar mi cuenta",
      rmq: "¿Eliminar tu cuenta y todos tus comentarios? No se puede deshacer.",
      data: "Tus datos", send: "Envíame un enlace", sent: "Si esa dirección escribió aquí, un enlace va en camino.",
    },
  };

  const CSS = `
:host{all:initial;display:block!important;visibility:visible!important;font:inherit;color:inherit;line-height:1.5;text-align:start}
*{box-sizing:border-box}
.aw{--acc:currentColor;--er:#c5221f;--ln:color-mix(in srgb,currentColor 22%,transparent);--mu:color-mix(in srgb,currentColor 72%,transparent);display:block;overflow-wrap:anywhere}
.aw[data-theme]{--acc:#0b57d0;--bg:#fff;color:#1d2125;background:var(--bg);color-scheme:light;padding:1em;border-radius:8px}
.aw[data-theme=dark]{--acc:#8ab4f8;--bg:#17191c;--er:#f28b82;color:#e8eaed;color-scheme:dark}
@media(prefers-color-scheme:dark){.aw[data-theme=auto]{--acc:#8ab4f8;--bg:#17191c;--er:#f28b82;color:#e8eaed;color-scheme:dark}}
h2,h3{display:block;font-size:1.2em;font-weight:700;margin:1em 0 .5em}
p,form,article,section,div,label,fieldset{display:block;margin:0}
fieldset{border:0;padding:0;min-width:0}
p{margin:.4em 0}
ol{display:block;list-style:none;margin:0;padding:0}
li{display:block}
.l .l{margin-inline-start:clamp(.5em,3%,1.75em);padding-inline-start:clamp(.5em,2%,1em);border-inline-start:2px solid var(--ln)}
article{padding:.6em 0}
.m{display:flex;flex-wrap:wrap;align-items:center;gap:.2em .6em;font-size:.92em}
.m time,.m i,.pd,.x0{color:var(--mu)}
.av{display:inline-grid;place-items:center;flex:none;width:2.4em;height:2.4em;border-radius:50%;color:#fff;font-weight:700;object-fit:cover}
.who{font-weight:700;color:inherit}
.t pre{overflow:auto}
.t a{color:var(--acc)}
.pd{font-style:italic}
.x,.bar,.u{display:flex;flex-wrap:wrap;align-items:center;gap:.4em}
.x{margin-inline-start:-.4em}
button,input,textarea,select{font:inherit;color:inherit;letter-spacing:inherit;margin:0}
button{display:inline-block;cursor:pointer;background:none;border:1px solid var(--ln);border-radius:6px;padding:.35em .9em}
.x button,.u button{border-color:transparent;padding:.15em .4em;color:var(--acc)}
.p{font-weight:700;border:2px solid}
.aw[data-theme] .p{background:var(--acc);border-color:var(--acc);color:var(--bg)}
input,textarea,select{display:block;width:100%;border:1px solid var(--mu);border-radius:6px;padding:.45em .6em;background:transparent}
.aw[data-theme] :is(input,textarea,select){background:var(--bg)}
select{display:inline-block;width:auto}
textarea{min-height:6.5em;resize:vertical}
label{font-weight:600;margin-bottom:.15em}
.f{margin:.7em 0}
.ck{display:flex;gap:.5em;align-items:center}
.ck input{width:auto;accent-color:var(--acc)}
.ck label{font-weight:400;margin:0}
.pv{width:2.6em;height:2.6em;border-radius:50%;padding:0;font-weight:700}
:focus-visible,.c:focus{outline:2px solid var(--acc);outline-offset:2px}
.er{color:var(--er);font-weight:600}
.bd{font-size:.75em;border:1px solid;border-radius:4px;padding:0 .3em}
.er:empty{display:none}
summary{cursor:pointer;color:var(--acc);margin:.7em 0}
.sr,.hp{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
[hidden]{display:none!important}`;

  const d = S.dataset, site = d.site, base = new URL(S.src, location.href).origin;
  const url = d.url || location.href.split(/[?#]/)[0], title = d.title || D.title;
  const code = (d.lang || D.documentElement.lang || "en").slice(0, 2).toLowerCase();
  const loc = STR[code] ? code : "en", T = STR[loc];
  const theme = /^(light|dark|auto)$/.test(d.theme) ? d.theme : null;
  const fmt = (s, v) => s.replace("{0}", v);
  const rtf = new Intl.RelativeTimeFormat(loc, { numeric: "auto" });
  const plural = new Intl.PluralRules(loc);
  const countText = (n) => fmt(T[plural.select(n) === "one" ? "one" : "many"], n);

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
  const sess = (k, v) => {
    try {
      if (v === undefined) return JSON.parse(sessionStorage.getItem(k));
      v ? sessionStorage.setItem(k, JSON.stringify(v)) : sessionStorage.removeItem(k);
    } catch { return null; }
  };
  const K = `afterword:${site}:`, tokKey = `${K}tokens:${url}`, guestKey = `${K}guest`;
  const loginKey = `${K}login`;
  // Same-origin pages only: where a popup cut off from its opener hands over its code.
  const bc = self.BroadcastChannel ? new BroadcastChannel(loginKey) : null;
  const authKey = `${K}auth:${base}`; // the reader's session token, for this site and service
  const draftKey = (p) => `${K}draft:${url}:${p || 0}`;
  let tokens = store.get(tokKey, {}); // comment id -> edit token of the reader's own comments

  const uuid = () => crypto.randomUUID?.() ??
    // randomUUID needs a secure context; plain-http blogs still get a random v4 id.
    "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

  const safeUrl = (u) => {
    try { const x = new URL(u); return /^https?:$/.test(x.protocol) ? x.href : ""; } catch { return ""; }
  };

  const rel = (t) => {
    let v = (t - Date.now()) / 1e3;
    for (const [n, unit] of [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [1 / 0, "year"]]) {
      if (Math.abs(v) < n) return rtf.format(Math.round(v), unit);
      v /= n;
    }
  };

  const avatar = (a) => {
    const src = safeUrl(a.avatar_url);
    if (src.startsWith("https:")) {
      const img = h("img", { class: "av", alt: "", loading: "lazy", referrerPolicy: "no-referrer" });
      img.src = src;
      return img;
    }
    let n = 0;
    for (const ch of a.avatar_seed || a.name || "") n = (n * 31 + ch.charCodeAt(0)) >>> 0;
    const s = h("span", { class: "av", "aria-hidden": "true" }, ([...(a.name || "?").trim()][0] || "?").toUpperCase());
    s.style.background = `hsl(${n % 360} 42% 38%)`;
    return s;
  };

  function start() {
    const host = D.querySelector(d.target || "#afterword");
    if (!host || host.shadowRoot) return;
    const root = host.attachShadow({ mode: "open" });
    let cfg = {}, sort = "oldest", next = null, count = 0, replyOpen = null, formId = 0;
    let tok = store.get(authKey, null), viewer = null, flow = null;

    const live = h("div", { class: "sr", "aria-live": "polite" });
    const say = (msg) => { live.textContent = ""; setTimeout(() => (live.textContent = msg), 50); };
    const heading = h("h2", { tabIndex: -1 }, T.loading);
    const setCount = (delta = 0) => { count += delta; heading.textContent = countText(count); };
    const list = h("ol", { class: "l" });
    const more = h("button", { type: "button", hidden: true, onclick: () => load(next) }, T.more);
    const status = h("p", { class: "er", role: "alert" });
    const sorter = h("select", { id: "aw-sort", onchange: (e) => { sort = e.target.value; load(); } },
      ["oldest", "newest", "best"].map((s) => h("option", { value: s }, T[s])));
    const wrap = h("div", { class: "aw", "data-theme": theme, lang: loc },
      live, heading, h("div", { class: "bar" }, h("label", { htmlFor: "aw-sort" }, T.sort), sorter,
        h("a", { href: `${base}/feeds/sites/${site}/thread.atom?url=${encodeURIComponent(url)}`, type: "application/atom+xml" }, T.feed)),
      status, list, more);
    root.append(h("style", null, CSS), wrap);

    const api = async (path, opts = {}) => {
      let r, j = {};
      const t = tok, headers = { ...opts.headers };
      // Guests send no custom header, so their reads need no preflight.
      if (t) headers.Authorization = `Bearer ${t}`;
      try {
        r = await fetch(`${base}/api/v1/sites/${encodeURIComponent(site)}${path}`, { credentials: "omit", ...opts, headers });
      } catch { throw { message: T.net }; }
      try { j = await r.json(); } catch { /* an empty or non-JSON body */ }
      if (r.ok) return j;
      const e = j.error || {};
      if (r.status === 429) {
        const ra = r.headers.get("Retry-After");
        const s = ra && (isNaN(ra) ? Math.ceil((Date.parse(ra) - Date.now()) / 1e3) : +ra);
        if (s > 0) e.message = fmt(T.retry, s);
      }
      if (e.code === "session_expired" && t === tok) auth(null);
      throw { status: r.status, code: e.code, field: e.field, message: e.message || T.net };
    };
    const send = (method, path, body) =>
      api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

    // Open forms switch between guest and signed-in in place, so nothing typed is lost.
    const auth = (t, v) => {
      store.set(authKey, (tok = t));
      viewer = t ? v : null;
      for (const f of root.querySelectorAll("form")) f.up?.();
    };

    const find = (id) => root.getElementById(`c${id}`);
    const hasReplies = (li) => !!li.querySelector(".c") ||
      (+li.dataset.d === 4 && li.nextElementSibling?.c?.parent_id === li.c.id);

    const article = (c, li) => {
      if (c.status === "deleted") return h("article", null, h("p", { class: "x0" }, T.deleted));
      const a = c.author || {}, web = !a.provider && safeUrl(a.website), t = new Date(c.created_at);
      const who = h(web ? "a" : "span", { class: "who", rel: web && "nofollow ugc" }, a.name || "?");
      if (web) who.href = web;
      const body = h("div", { class: "t" });
      body.innerHTML = c.html; // sanitized by the server: the one place markup is trusted
      const own = c.mine, editable = own && c.editable_until && new Date(c.editable_until) > Date.now();
      return h("article", null,
        h("div", { class: "m" }, avatar(a), who,
          a.moderator && h("span", { class: "bd" }, T.mod),
          h("time", { datetime: c.created_at, title: t.toLocaleString(loc) }, rel(t)),
          c.edited_at && h("i", null, T.edited)),
        body,
        own && c.status === "pending" && h("p", { class: "pd" }, T.pending),
        h("div", { class: "x" },
          h("button", { type: "button", "aria-expanded": "false", onclick: (e) => toggleReply(li, e.currentTarget) }, T.replyBtn),
          editable && h("button", { type: "button", onclick: () => edit(li) }, T.edit),
          own && h("button", { type: "button", onclick: () => remove(li) }, T.del)));
    };

    const item = (c, depth) => {
      const li = h("li", { id: `c${c.id}`, class: "c", tabIndex: -1, "data-d": depth });
      li.c = c;
      li.append(article(c, li));
      return li;
    };

    // Replies nest up to four levels; deeper ones continue at the fourth, after their parent.
    const fill = (ol, comments, depth) => {
      for (const c of comments) {
        const li = item(c, depth);
        ol.append(li);
        if (!c.replies?.length) continue;
        if (depth < 4) {
          const sub = h("ol", { class: "l" });
          li.append(sub);
          fill(sub, c.replies, depth + 1);
        } else fill(ol, c.replies, depth);
      }
    };

    const insert = (c, parent) => {
      const old = find(c.id);
      if (old) { old.c = c; old.firstChild.replaceWith(article(c, old)); return old; }
      if (!parent) {
        const li = item(c, 1);
        sort === "newest" ? list.prepend(li) : list.append(li);
        return li;
      }
      const depth = +parent.dataset.d, li = item(c, Math.min(depth + 1, 4));
      if (depth < 4) {
        let sub = parent.querySelector(":scope > ol");
        if (!sub) parent.append((sub = h("ol", { class: "l" })));
        sub.append(li);
      } else parent.after(li);
      return li;
    };

    // Merged with what is stored, so two open tabs do not drop each other's tokens.
    const saveToken = (id, token) => {
      tokens = { ...store.get(tokKey, {}), ...tokens, [id]: token };
      if (!token) delete tokens[id];
      store.set(tokKey, Object.keys(tokens).length ? tokens : null);
    };

    function form(parentLi) {
      const n = ++formId, id = (s) => `aw-${s}${n}`, pid = parentLi?.c.id;
      const guest = store.get(guestKey, {}), dk = draftKey(pid);
      const err = h("p", { class: "er", role: "alert", id: id("e") });
      const field = (name, label, type, auto, req) => h("div", { class: "f" },
        h("label", { htmlFor: id(name) }, label),
        h("input", { id: id(name), name, type, autocomplete: auto, required: req, value: guest[name] || "" }));
      const text = h("textarea", { id: id("body"), name: "body", rows: 5, required: true, value: store.get(dk, "") });
      let key = null, busy = false, last;
      const t0 = Date.now(); // how long the form was open: bots post in an instant
      const pv = h("div", { class: "bar" }, (cfg.providers || []).map((p) => {
        const label = fmt(T.login, p.label);
        const b = h("button", { type: "button", class: "pv", "aria-label": label, title: label, onclick: () => signIn(p, f, (last = b)) },
          h("span", { "aria-hidden": "true" }, [...p.label][0]));
        return b;
      }));
      const cn = h("span", { role: "status" });
      const cb = h("div", { class: "bar", hidden: true }, cn,
        h("button", { type: "button", onclick: () => flow && (flow.w?.close(), finish(flow)) }, T.cancel));
      const who = h("div", { hidden: true });
      // A disabled fieldset keeps the guest fields out of a signed-in reader's post.
      const gs = h("fieldset", null, h("p", null, T.intro), pv,
        field("email", T.email, "email", "email", true),
        field("name", T.name, "text", "name", true),
        field("website", T.website, "url", "url", false));

      const ne = h("div", { class: "f", hidden: true },
        h("label", { htmlFor: id("ne") }, T.nmail),
        h("input", { id: id("ne"), name: "notify_email", type: "email", autocomplete: "email", disabled: true }));
      const f = h("form", {
        noValidate: true, "aria-labelledby": id("h"),
        oninput: () => {
          store.set(dk, text.value);
          const g = {};
          for (const k of ["name", "email", "website"]) g[k] = f.elements.namedItem(k).value;
          store.set(guestKey, g);
        },
        onsubmit: async (e) => {
          e.preventDefault();
          if (busy) return;
          busy = true;
          f.setAttribute("aria-busy", "true");
          for (const el of f.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
          const v = Object.fromEntries(new FormData(f));
          key ||= uuid(); // kept until success, so a retry after a lost answer is not stored twice
          try {
            const j = await send("POST", "/comments", {
              url, title, parent_id: pid ?? null, body: v.body, name: v.name, email: v.email,
              website: v.website || undefined, notify: !!v.notify, notify_email: v.notify_email, idempotency_key: key,
              hp: v.hp || "", fill_ms: Date.now() - t0,
            });
            key = null;
            err.textContent = "";
            const c = j.comment;
            c.body ??= v.body;
            // A signed-in reader's own comments follow their token, not edit tokens kept here.
            if (j.edit_token && !tok) saveToken(c.id, j.edit_token);
            store.set(dk, null);
            text.value = "";
            const fresh = !find(c.id);
            const li = insert(c, parentLi);
            if (fresh && c.status === "approved") setCount(1);
            if (parentLi) closeReply();
            li.focus();
            say(T.posted);
          } catch (x) {
            if (x.code === "idempotency_conflict") key = null;
            err.textContent = x.message;
            const el = x.field && f.elements.namedItem(x.field);
            if (el) { el.setAttribute("aria-invalid", "true"); el.setAttribute("aria-describedby", id("e")); el.focus(); }
          } finally {
            busy = false;
            f.removeAttribute("aria-busy");
          }
        },
      },
      h(parentLi ? "h3" : "h2", { id: id("h") }, T.reply), who, cb, gs,
      // Left empty by people (hidden from them and from assistive tech); bots fill it in.
      h("div", { class: "hp", "aria-hidden": "true" },
        h("input", { name: "hp", tabIndex: -1, autocomplete: "off", "aria-label": "hp" })),
      h("div", { class: "f" }, h("label", { htmlFor: id("body") }, T.comment), text),
      err,
      h("div", { class: "bar" },
        h("button", { class: "p" }, T.post),
        parentLi && h("button", { type: "button", onclick: () => closeReply(true) }, T.cancel)),
      h("div", { class: "f ck" }, h("input", { type: "checkbox", id: id("n"), name: "notify", onchange: () => f.up() }),
        h("label", { htmlFor: id("n") }, T.notify)),
      // A signed-in reader has no email on file: asked for only when they want mail.
      ne);
      const oops = (x) => (err.textContent = x.message);
      f.up = () => {
        ne.hidden = ne.lastChild.disabled = !(viewer && f.elements.namedItem("notify").checked);
        gs.hidden = gs.disabled = !!viewer;
        who.hidden = !viewer;
        who.replaceChildren(...(viewer ? [
          h("div", { class: "m" }, avatar(viewer), h("b", { class: "who" }, viewer.name)),
          h("p", { class: "u" }, fmt(T.using, viewer.provider_label),
            h("button", { type: "button", onclick: () => out(f, "input") }, T.out),
            h("button", { type: "button", onclick: () => out(f, ".pv") }, T.change)),
          // The reader's own data: a copy of it, or the account gone with all its comments.
          !parentLi && h("p", { class: "u x" },
            h("button", { type: "button", onclick: () => api("/me/export").then(save, oops) }, T.dl),
            h("button", { type: "button", onclick: () => confirm(T.rmq) &&
              send("DELETE", "/me", { confirm: true }).then(() => out(f, "input"), oops) }, T.rm)),
          // Another provider's account joins this one: the sign-in carries the reader's token.
          h("div", { class: "bar" }, (cfg.providers || []).filter((p) => p.name !== viewer.provider)
            .map((p) => h("button", { type: "button", onclick: (e) => signIn(p, f, (last = e.currentTarget)) },
              fmt(T.link, p.label))))] : []));
      };
      f.busy = (label) => {
        pv.hidden = true;
        cb.hidden = false;
        cn.textContent = fmt(T.conn, label);
        err.textContent = "";
        cb.lastChild.focus();
      };
      f.idle = (msg) => {
        const back = cb.contains(root.activeElement);
        pv.hidden = false;
        cb.hidden = true;
        cn.textContent = "";
        err.textContent = msg || "";
        if (back) last?.focus();
      };
      f.up();
      return f;
    }

    // Saved as a file by the browser itself: the export never leaves the reader's machine.
    const save = (j) => {
      const a = h("a", { download: "comments.json", href: URL.createObjectURL(new Blob([JSON.stringify(j, null, 1)])) });
      wrap.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1e4);
    };

    // A guest proves the address is theirs by opening a link mailed to it; the answer is the
    // same whether or not it wrote anything.
    function yours() {
      const n = h("p"), e = h("input", { type: "email", required: true, "aria-labelledby": "aw-pd", placeholder: T.email, value: store.get(guestKey, {}).email || "" });
      const f = h("form", {
        onsubmit: (ev) => {
          ev.preventDefault();
          send("POST", "/privacy/requests", { email: e.value }).then(() => T.sent, (x) => x.message).then((m) => say(n.textContent = m));
        },
      }, h("div", { class: "f" }, e), h("button", null, T.send), n);
      const d = h("details", null, h("summary", { id: "aw-pd" }, T.data), f);
      f.up = () => (d.hidden = !!viewer);
      f.up();
      return d;
    }

    function toggleReply(li, btn) {
      const same = replyOpen?.li === li;
      closeReply();
      if (same) return;
      const f = form(li);
      li.firstChild.after(f);
      btn.setAttribute("aria-expanded", "true");
      replyOpen = { li, f, btn };
      f.querySelector("textarea").focus();
    }

    function closeReply(refocus) {
      if (!replyOpen) return;
      const { f, btn } = replyOpen;
      replyOpen = null;
      f.remove();
      btn.setAttribute("aria-expanded", "false");
      if (refocus) btn.focus();
    }

    function edit(li) {
      const c = li.c, old = li.firstChild, err = h("p", { class: "er", role: "alert" });
      const text = h("textarea", { "aria-label": T.comment, rows: 5, value: c.body ?? "" });
      const cancel = () => { f.replaceWith(old); li.focus(); };
      const f = h("form", {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const j = await send("PATCH", `/comments/${c.id}`, { body: text.value, edit_token: tokens[c.id] });
            li.c = { ...j.comment, body: j.comment.body ?? text.value };
            f.replaceWith(article(li.c, li));
            li.focus();
          } catch (x) { err.textContent = x.message; text.focus(); }
        },
      }, text, err, h("div", { class: "bar" }, h("button", { class: "p" }, T.save),
        h("button", { type: "button", onclick: cancel }, T.cancel)));
      old.replaceWith(f);
      text.focus();
    }

    async function remove(li) {
      if (!confirm(T.sure)) return;
      const c = li.c;
      try {
        await send("DELETE", `/comments/${c.id}`, { edit_token: tokens[c.id] });
      } catch (x) {
        const ar = li.firstChild;
        (ar.querySelector(":scope > .er") || ar.appendChild(h("p", { class: "er", role: "alert" }))).textContent = x.message;
        return;
      }
      saveToken(c.id, null);
      if (c.status === "approved") setCount(-1);
      if (hasReplies(li)) { li.c = { ...c, status: "deleted" }; li.firstChild.replaceWith(article(li.c, li)); } else li.remove();
      heading.focus();
      say(T.gone);
    }

    /* Sign-in runs in a popup on the service's origin, or in the page itself when popups are
       blocked. The service hands a one-time code to this page and nothing else: by postMessage,
       or, when a provider's Cross-Origin-Opener-Policy cut the popup off, by opening this page
       in the popup with the code in the fragment, whence it comes here on a BroadcastChannel.
       The claim needs the code and the flow's secret, which never leaves this page: a flow
       finished elsewhere, or a code planted in a link, signs nobody in. */
    async function signIn(p, f) {
      // Before any await: browsers allow a popup only within the click itself.
      const w = open("about:blank", "afterword-login", "popup,width=600,height=700");
      if (flow) finish(flow);
      const fl = (flow = { w, f });
      f.busy(p.label);
      try {
        const j = await send("POST", "/logins", { provider: p.name, popup: !!w, return_url: location.href.split("#")[0] });
        if (flow !== fl) return;
        fl.id = j.flow;
        fl.secret = j.secret;
        if (!w) return sess(loginKey, { id: j.flow, secret: j.secret }), location.assign(j.start_url);
        w.location.href = j.start_url;
        fl.tm = setInterval(() => watch(fl), 1e3);
      } catch (x) {
        if (flow === fl) { w?.close(); finish(fl, x.message); } // else the window serves a newer flow
      }
    }

    /* `closed` is also what an opener cut off by the provider reports. After a grace period the
       form comes back, but the page goes on listening until another sign-in starts. */
    const watch = (fl) => {
      if (fl.w.closed && !fl.gr) fl.gr = setTimeout(() => { fl.quiet = 1; fl.f.idle(T.closed); }, 5e3);
    };

    const finish = (fl, msg) => {
      clearInterval(fl.tm);
      clearTimeout(fl.gr);
      if (flow === fl) flow = null;
      if (!fl.quiet || !msg) fl.f.idle(msg); // the form already came back when it went quiet
    };

    // A flow is claimed once: a second code for it is ignored.
    async function claim(fl, code) {
      if (fl.busy) return;
      fl.busy = 1;
      try {
        const j = await send("POST", `/logins/${fl.id}/claim`, { secret: fl.secret, code });
        if (flow !== fl) return;
        finish(fl);
        auth(j.token, j.viewer);
        say(T.signed);
        fl.quiet || fl.f.elements.body.focus();
        return reload();
      } catch (x) {
        if (flow === fl) finish(fl, x.message);
      }
    }

    // The code for this page's own flow, from its popup or from a popup cut off from it.
    const handed = (m) => {
      const fl = flow;
      if (!fl?.id || m?.type !== "afterword:login" || m.flow !== fl.id || typeof m.code !== "string") return;
      claim(fl, m.code);
      return 1;
    };
    addEventListener("message", (e) => e.origin === base && handed(e.data));
    bc?.addEventListener("message", (e) => handed(e.data) && bc.postMessage({ type: "afterword:claimed", flow: e.data.flow }));

    // Log Out leads on to the guest fields, Change to the provider buttons.
    const out = (f, next) => {
      auth(null);
      f.querySelector(next)?.focus();
      reload(); // the thread as a guest sees it
    };

    // After signing in or out: the thread as the reader now sees it, with an open reply kept open.
    async function reload() {
      const id = replyOpen?.li.c.id;
      await load();
      const li = id && find(id);
      if (li) toggleReply(li, li.querySelector(".x button"));
    }

    async function load(page) {
      const q = new URLSearchParams({ url, sort });
      if (page) q.set("page", page);
      const mine = Object.values(tokens).slice(-50);
      if (mine.length) q.set("mine", mine.join(","));
      more.disabled = true;
      const t = tok;
      try {
        const j = await api(`/thread?${q}`);
        // A token the service no longer takes is dropped without a word: the reader is a guest.
        if (t === tok) auth(j.session_expired ? null : t, j.viewer);
        cfg = j.config || cfg;
        next = j.next_page ?? null;
        count = j.thread?.count ?? 0;
        setCount();
        status.textContent = "";
        if (!page) { closeReply(); list.replaceChildren(); }
        const before = list.lastElementChild;
        fill(list, j.comments || [], 1);
        if (page) (before ? before.nextElementSibling : list.firstElementChild)?.focus();
        more.hidden = next == null;
        if (!wrap.querySelector(":scope > form")) wrap.append(form(null), yours());
      } catch (x) {
        if (["origin_not_allowed", "site_not_found", "url_not_allowed"].includes(x.code)) {
          wrap.replaceChildren(h("p", null, T.na));
        } else status.textContent = x.message;
      } finally {
        more.disabled = false;
      }
    }

    /* Back from a sign-in with a code in the fragment: this page's own full-page sign-in, whose
       secret it kept for the trip; or a popup cut off from its opener, which passes the code to
       the page waiting for it and closes. Anything else (a link someone sent) is dropped. */
    const m = /(^#|&)afterword-login=([\w-]+)\.([\w-]+)/.exec(location.hash);
    (async () => {
      let msg;
      if (m) {
        const rest = location.hash.replace(m[0], "").replace(/^#?&?/, "");
        history.replaceState(history.state, "", location.href.split("#")[0] + (rest && `#${rest}`));
        const mine = sess(loginKey);
        sess(loginKey, null);
        if (mine?.id === m[2]) {
          try {
            const j = await send("POST", `/logins/${m[2]}/claim`, { secret: mine.secret, code: m[3] });
            auth(j.token, j.viewer);
            say(T.signed);
          } catch (x) { msg = x.message; }
        } else if (bc) {
          bc.addEventListener("message", (e) => {
            if (e.data?.type === "afterword:claimed" && e.data.flow === m[2]) { close(); say(T.signed); }
          });
          bc.postMessage({ type: "afterword:login", flow: m[2], code: m[3] });
        }
      }
      await load();
      if (msg) wrap.querySelector(":scope > form")?.idle(msg);
    })();
    setInterval(() => {
      for (const t of root.querySelectorAll("time")) t.textContent = rel(new Date(t.dateTime));
    }, 60e3);
  }

  D.readyState === "loading" ? D.addEventListener("DOMContentLoaded", start) : start();
})();
