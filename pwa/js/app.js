// Entry point: session state, app shell (header, navigation, profile switcher,
// language), routing with access rules, offline mode, and the live updates of the
// messaging (one event stream while logged in; the unread badge of the navigation).

import { api, live, onReauthRequired, onUnauthorized } from "./api.js";
import { h, heading, icon } from "./dom.js";
import { getLang, initLang, setLang, t } from "./i18n.js";
import * as router from "./router.js";
import * as store from "./store.js";
import * as activateView from "./views/activate.js";
import * as cardView from "./views/card.js";
import * as patients from "./patients.js";
import { confirmIdentity } from "./reauth.js";
import * as delegationsView from "./views/delegations.js";
import * as documentsView from "./views/documents.js";
import * as homeView from "./views/home.js";
import * as loginView from "./views/login.js";
import * as patientView from "./views/patient.js";
import * as privacyView from "./views/privacy.js";
import * as proView from "./views/pro.js";
import * as securityView from "./views/security.js";

const PROFILE_KEY = "carnet.profile";
// "1" while this browser has a session: set when /api/me answers, removed at
// logout and when the server answers 401. Without it a first visit does not ask
// /api/me, whose 401 answer the browser would report as a console error. It says
// nothing about who is logged in (the session cookie itself is HttpOnly).
const SIGNED_IN_KEY = "carnet.signedIn";

// "?v=<build>", as in this module's own address (empty in a test harness without it).
const BUILD_QUERY = new URL(import.meta.url).search;

/**
 * A view whose module (pwa/js/views/<name>.js) is loaded the first time it is
 * shown, at its versioned address. The address is built at run time on purpose:
 * the server preloads the modules named in import("...") calls, and these views
 * need not weigh on the first load of every visitor.
 */
function lazy(name) {
  return { render: async (ctx) => (await import(`./views/${name}.js${BUILD_QUERY}`)).render(ctx) };
}

// access: public (logged out only), citizen, pro, user (any logged-in account).
// offline: can render from the IndexedDB snapshot when the network is gone.
const ROUTES = {
  login: { view: loginView, access: "public" },
  activate: { view: activateView, access: "public" },
  // Loaded on first use: a professional activates once, the shell need not carry it.
  "pro-activate": { view: { render: async (ctx) => (await import("./views/pro_activate.js")).render(ctx) }, access: "public" },
  home: { view: homeView, access: "citizen", offline: true },
  card: { view: cardView, access: "citizen", offline: true },
  documents: { view: documentsView, access: "citizen" },
  privacy: { view: privacyView, access: "citizen" },
  delegations: { view: delegationsView, access: "citizen" },
  security: { view: securityView, access: "user" },
  pro: { view: proView, access: "pro" },
  patients: { view: proView.patientsView, access: "pro" },
  patient: { view: patientView, access: "pro" },
  // E-prescriptions, loaded on first use: the citizen's, the pharmacist's counter, the prescriber's form.
  prescriptions: { view: lazy("prescriptions"), access: "citizen" },
  dispense: { view: lazy("dispense"), access: "pro" },
  prescribe: { view: lazy("prescribe"), access: "pro" },
  // Secure messaging, loaded on first use: the citizen's (per profile), the professional's inbox.
  messages: { view: lazy("messages"), access: "citizen" },
  inbox: { view: lazy("inbox"), access: "pro" },
};

// {route, label key, icon, section: other routes of the same section, unread: carries the
// unread badge}. {more: [...]}: the last place of the bar, a "Plus" button that shows
// these destinations (six places is what a 320 px phone holds).
const NAV = {
  citizen: [
    { route: "home", label: "nav.home", icon: "home" },
    { route: "card", label: "nav.card", icon: "card" },
    { route: "documents", label: "nav.documents", icon: "doc" },
    { route: "prescriptions", label: "nav.prescriptions", icon: "pill" },
    { route: "messages", label: "nav.messages", icon: "mail", unread: true },
    {
      more: [
        { route: "privacy", label: "nav.privacy", icon: "lock", section: ["delegations"] },
        { route: "security", label: "nav.security", icon: "shield" },
      ],
    },
  ],
  pro: [
    { route: "pro", label: "nav.pro", icon: "check", section: ["patient", "prescribe"] },
    { route: "patients", label: "nav.patients", icon: "people" },
    { route: "dispense", label: "nav.dispense", icon: "pill" },
    { route: "inbox", label: "nav.messages", icon: "mail", unread: true },
    { route: "security", label: "nav.security", icon: "shield" },
  ],
};
// Screens that announce new messages themselves (the shell does elsewhere).
const MESSAGING_ROUTES = ["messages", "inbox"];

const state = {
  me: null, // {kind, display_name, profiles, fromSnapshot?}
  offline: false,
  profileId: null,
  returnTo: null,
  unread: null, // unread messages (all profiles of a citizen), from the live stream
};

const el = {};
let renderSeq = 0;
let leaveActive = [];
let firstRender = true;
let pendingFlash = null;
let closeMoreMenu = null;

// --- state ------------------------------------------------------------------

function storedProfile() {
  try {
    return localStorage.getItem(PROFILE_KEY);
  } catch {
    return null;
  }
}

function rememberProfile(id) {
  try {
    if (id) localStorage.setItem(PROFILE_KEY, id);
    else localStorage.removeItem(PROFILE_KEY);
  } catch {
    /* storage unavailable */
  }
}

function markSignedIn(signedIn) {
  try {
    if (signedIn) localStorage.setItem(SIGNED_IN_KEY, "1");
    else localStorage.removeItem(SIGNED_IN_KEY);
  } catch {
    /* storage unavailable */
  }
}

/** Whether a session may exist; when storage cannot tell, ask the server. */
function maybeSignedIn() {
  try {
    return localStorage.getItem(SIGNED_IN_KEY) === "1";
  } catch {
    return true;
  }
}

function setMe(me) {
  state.me = me;
  const profiles = me?.profiles || [];
  const wanted = state.profileId || storedProfile();
  const found = profiles.find((p) => p.id === wanted);
  const self = profiles.find((p) => p.relation === "self");
  state.profileId = (found || self || profiles[0])?.id || null;
}

function currentProfile() {
  return state.me?.profiles?.find((p) => p.id === state.profileId) || null;
}

function selfProfile() {
  return state.me?.profiles?.find((p) => p.relation === "self") || null;
}

function selectProfile(id) {
  if (!state.me?.profiles?.some((p) => p.id === id)) return false;
  state.profileId = id;
  rememberProfile(id);
  syncProfileSwitcher();
  return true;
}

let offlinePoll = null;

function setOffline(offline) {
  state.offline = offline;
  if (offline) live.stop();
  if (offline && !offlinePoll) {
    offlinePoll = setInterval(() => reconnect(1), 15000);
  } else if (!offline && offlinePoll) {
    clearInterval(offlinePoll);
    offlinePoll = null;
  }
  el.offlineBanner.hidden = !offline;
  document.documentElement.classList.toggle("is-offline", offline);
}

async function endSession() {
  live.stop();
  state.unread = null;
  markSignedIn(false);
  patients.forgetAll();
  await store.clearSnapshots();
  state.me = null;
  state.profileId = null;
  rememberProfile(null);
}

/**
 * Ask the server who is logged in; fall back to the snapshot when offline.
 * Not asked when this browser has no session (ask: true after a login).
 */
async function loadSession({ ask = maybeSignedIn() } = {}) {
  if (!ask) {
    setOffline(navigator.onLine === false);
    state.me = null;
    return;
  }
  try {
    const me = await api.get("/api/me", { auth: false });
    markSignedIn(true);
    setOffline(false);
    setMe(me);
  } catch (err) {
    if (err.network) {
      setOffline(true);
      const snap = await store.loadMe();
      if (snap) setMe({ ...snap, fromSnapshot: true });
      else state.me = null;
    } else {
      if (err.status === 401) {
        markSignedIn(false);
        await store.clearSnapshots();
      }
      setOffline(false);
      state.me = null;
    }
  }
}

function homeOf(me) {
  return me?.kind === "pro" ? "pro" : "home";
}

// --- messages ---------------------------------------------------------------

/** Show a status message now, or after the coming navigation (next: true). */
function flash(message, { next = false } = {}) {
  if (next) pendingFlash = message;
  else setFlash(message);
}

function setFlash(message) {
  el.flash.replaceChildren();
  if (message) el.flash.append(h("p", { class: "notice notice-info" }, message));
}

// --- shell ------------------------------------------------------------------

function translateShell() {
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  const other = getLang() === "fr" ? "en" : "fr";
  el.langToggle.textContent = t("shell.lang.switch");
  el.langToggle.setAttribute("lang", other);
  el.nav.setAttribute("aria-label", t("shell.nav"));
}

function profileLabel(p) {
  return `${p.first_name} ${p.used_name || p.birth_name} — ${t(`relation.${p.relation}`)}`;
}

function syncProfileSwitcher(routeName) {
  const name = routeName ?? router.current().name;
  const profiles = state.me?.kind === "citizen" ? state.me.profiles || [] : [];
  const show = profiles.length > 1 && !["login", "activate", "security"].includes(name);
  el.profileBox.hidden = !show;
  el.profileSelect.replaceChildren(
    ...profiles.map((p) => h("option", { value: p.id, selected: p.id === state.profileId }, profileLabel(p))),
  );
  if (state.profileId) el.profileSelect.value = state.profileId;
}

function isCurrent(item, routeName) {
  return item.route === routeName || (item.section || []).includes(routeName);
}

/** A destination of the navigation; the messaging one carries the unread badge (also in words). */
function navLink(item, routeName, className = "nav-link") {
  const current = item.route === routeName ? "page" : isCurrent(item, routeName) ? "true" : null;
  return h("a", { href: `#/${item.route}`, class: className, "aria-current": current, "data-unread": item.unread || null },
    item.unread
      ? h("span", { class: "nav-icon" }, icon(item.icon), h("span", { class: "nav-badge", "aria-hidden": "true", hidden: true }))
      : icon(item.icon),
    h("span", { class: "nav-label" }, t(item.label)),
    item.unread ? h("span", { class: "sr-only nav-unread" }) : null);
}

/**
 * "Plus": a disclosure button and the list of links it shows. Escape, a click elsewhere
 * or the focus leaving it closes the list; the button is marked when the screen shown
 * is one of its destinations.
 */
function moreMenu(items, routeName) {
  const current = items.some((item) => isCurrent(item, routeName));
  const button = h("button", {
    type: "button", id: "nav-more-button", class: "nav-link nav-more-button", "aria-expanded": "false",
    "aria-controls": "nav-more", "aria-current": current ? "true" : null,
  }, icon("more"), h("span", { class: "nav-label" }, t("nav.more")));
  const menu = h("ul", { id: "nav-more", class: "nav-menu", hidden: true },
    ...items.map((item) => h("li", {}, navLink(item, routeName, "nav-menu-link"))));
  const li = h("li", { class: "nav-more" }, button, menu);
  const setOpen = (open) => {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => setOpen(menu.hidden));
  menu.addEventListener("click", (event) => {
    if (event.target.closest("a")) setOpen(false);
  });
  li.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !menu.hidden) {
      event.preventDefault();
      setOpen(false);
      button.focus();
    }
  });
  li.addEventListener("focusout", (event) => {
    if (!menu.hidden && event.relatedTarget && !li.contains(event.relatedTarget)) setOpen(false);
  });
  closeMoreMenu = (target) => {
    if (!menu.hidden && !li.contains(target)) setOpen(false);
  };
  return li;
}

/** The unread badge of the navigation: a number on the icon, and the same in words in the link's name. */
function syncUnreadBadge() {
  const n = state.unread || 0;
  for (const link of el.navList.querySelectorAll("[data-unread]")) {
    const badgeEl = link.querySelector(".nav-badge");
    badgeEl.hidden = n === 0;
    badgeEl.textContent = n > 99 ? "99+" : String(n);
    link.querySelector(".nav-unread").textContent = n ? ` ${t(n === 1 ? "nav.unread.one" : "nav.unread", { count: n })}` : "";
  }
}

function syncShell(routeName) {
  const me = state.me;
  const loggedIn = Boolean(me) && !["login", "activate"].includes(routeName);
  el.logout.hidden = !me;
  el.nav.hidden = !loggedIn;
  document.body.classList.toggle("has-nav", loggedIn);
  const items = loggedIn ? NAV[me.kind] || [] : [];
  closeMoreMenu = null;
  el.navList.replaceChildren(...items.map((item) => (item.more
    ? moreMenu(item.more, routeName)
    : h("li", {}, navLink(item, routeName)))));
  syncUnreadBadge();
  syncLive();
  el.brand.setAttribute("href", me ? `#/${homeOf(me)}` : "#/login");
  syncProfileSwitcher(routeName);
}

// --- live updates -----------------------------------------------------------

/** The event stream is open while someone is logged in and the network is there. */
function syncLive() {
  const me = state.me;
  if (me && !me.fromSnapshot && !state.offline) live.start();
  else {
    live.stop();
    state.unread = null;
    delete document.documentElement.dataset.live;
  }
}

function setUnread(count) {
  state.unread = count;
  syncUnreadBadge();
}

async function refreshUnread() {
  try {
    setUnread((await api.get("/api/messaging/unread")).total);
  } catch {
    /* the badge keeps its count; the next event brings the right one */
  }
}

/** Said by screen readers without moving the focus (a new message while another screen is shown). */
function announce(message) {
  el.announcer.textContent = "";
  setTimeout(() => { el.announcer.textContent = message; }, 50);
}

function onLiveEvent(kind, data) {
  // Says that the stream is open (as data-sw says the service worker is ready).
  if (kind === "ready" || kind === "resync") document.documentElement.dataset.live = "ready";
  const before = state.unread;
  if (typeof data.unread === "number") setUnread(data.unread);
  else if (kind === "resync") refreshUnread();
  const name = router.current().name;
  if (kind === "message" && typeof data.unread === "number" && before !== null && data.unread > before
      && !MESSAGING_ROUTES.includes(name)) {
    announce(t(data.unread === 1 ? "live.new_message.one" : "live.new_message", { count: data.unread }));
  }
}

// --- routing ----------------------------------------------------------------

function offlineView() {
  return {
    render() {
      const hasCard = Boolean(state.me);
      return h("div", { class: "view" },
        heading(t("offline.title")),
        h("div", { class: "notice notice-warning" },
          h("p", {}, hasCard ? t("offline.text") : t("offline.no_session"))),
        h("div", { class: "actions" },
          hasCard ? h("a", { href: "#/card", class: "btn btn-primary" }, t("offline.card_link")) : null,
          h("button", { type: "button", class: "btn btn-secondary", onclick: () => reconnect(1) }, t("common.retry"))));
    },
  };
}

const notFoundView = {
  render() {
    return h("div", { class: "view" },
      heading(t("notfound.title")),
      h("p", {}, t("notfound.text")),
      h("p", {}, h("a", { href: "#/", class: "btn btn-secondary" }, t("notfound.home"))));
  },
};

function errorView(err) {
  return h("div", { class: "view" },
    heading(t("error.generic", { status: err?.status || "?" })),
    h("div", { class: "notice notice-error", role: "alert" }, h("p", {}, err?.detail || String(err))),
    h("p", {}, h("a", { href: "#/", class: "btn btn-secondary" }, t("notfound.home"))));
}

function resolve(route) {
  const me = state.me;
  if (!route.name) return { redirect: me ? homeOf(me) : "login" };
  const def = ROUTES[route.name];
  if (!def) return { view: notFoundView };
  if (def.access === "public") {
    return me && !state.offline ? { redirect: homeOf(me) } : { view: def.view };
  }
  if (!me) {
    if (state.offline) return { view: offlineView() };
    state.returnTo = location.hash.slice(2);
    return { redirect: "login" };
  }
  if (def.access === "citizen" && me.kind !== "citizen") return { redirect: "pro" };
  if (def.access === "pro" && me.kind !== "pro") return { redirect: "home" };
  if (state.offline && !def.offline) return { view: offlineView() };
  return { view: def.view };
}

function makeCtx(route, leave) {
  return {
    state,
    route,
    params: route.params,
    query: route.query,
    navigate: router.navigate,
    flash,
    profile: currentProfile,
    selfProfile,
    selectProfile,
    setOffline,
    onLeave: (fn) => leave.push(fn),
    // Showing the same screen again keeps the message just given about it ("Document masqué…").
    rerender: () => renderRoute({ focus: false, keepFlash: true }),
    refreshMe: async () => {
      await loadSession();
      syncShell(router.current().name);
    },
    loggedIn,
    logout,
  };
}

async function renderRoute({ focus = true, keepFlash = false } = {}) {
  const seq = ++renderSeq;
  // While offline, every navigation first checks whether the network is back.
  if (state.offline) await loadSession();
  if (seq !== renderSeq) return;
  const route = router.current();
  const target = resolve(route);
  if (target.redirect) {
    router.navigate(target.redirect, { replace: true });
    return;
  }
  const leave = [];
  el.main.setAttribute("aria-busy", "true");
  let node;
  try {
    node = await target.view.render(makeCtx(route, leave));
  } catch (err) {
    if (err?.network && !state.offline) {
      // The network went away while loading: switch to offline mode.
      setOffline(true);
      if (seq === renderSeq) renderRoute({ focus });
      return;
    }
    if (err?.status === 401) return; // the session handler redirects to login
    node = errorView(err);
  }
  if (seq !== renderSeq) {
    for (const fn of leave) fn();
    return;
  }
  for (const fn of leaveActive) fn();
  leaveActive = leave;
  // A new #view element rather than new children: the container that held the
  // previous screen (or "Loading…") is not a node that moved, so showing the
  // profile switcher or a message above it causes no layout shift.
  const view = h("div", { id: "view" }, node);
  el.view.replaceWith(view);
  el.view = view;
  el.main.removeAttribute("aria-busy");
  syncShell(route.name);
  if (pendingFlash || !keepFlash) setFlash(pendingFlash);
  pendingFlash = null;
  const h1 = el.view.querySelector("h1");
  document.title = h1 ? `${h1.textContent} – ${t("title.suffix")}` : t("app.name");
  if (h1 && focus && !firstRender) h1.focus();
  firstRender = false;
}

// --- session transitions ----------------------------------------------------

/** After a successful login or activation: fresh state, then the home page. */
async function loggedIn(message) {
  patients.forgetAll();
  await store.clearSnapshots();
  state.profileId = null;
  rememberProfile(null);
  await loadSession({ ask: true });
  if (message) flash(message, { next: true });
  const back = state.returnTo;
  state.returnTo = null;
  const name = back ? back.split(/[/?]/)[0] : "";
  const def = ROUTES[name];
  const allowed = def && def.access !== "public"
    && (def.access === "user" || def.access === state.me?.kind);
  router.navigate(allowed ? back : homeOf(state.me));
}

async function logout({ everywhere = false, silent = false } = {}) {
  live.stop(); // before the session ends: the stream is not asked again without it
  let closed = 1;
  try {
    const out = await api.post(everywhere ? "/api/auth/logout-all" : "/api/auth/logout", {}, { auth: false });
    closed = out?.closed_sessions ?? closed;
  } catch {
    /* offline or already logged out: local data is cleared anyway */
  }
  await endSession();
  if (!silent) {
    flash(everywhere ? t("login.logged_out_all", { count: closed }) : t("login.logged_out"), { next: true });
  }
  router.navigate("login");
}

/** Back online: check the session again (a few tries while the network settles). */
async function reconnect(tries = 4) {
  if (!state.offline) return;
  for (let i = 0; i < tries; i += 1) {
    await new Promise((resolveDelay) => { setTimeout(resolveDelay, i === 0 ? 100 : 1500); });
    await loadSession();
    if (!state.offline) break;
  }
  if (!state.offline) renderRoute({ focus: false });
}

// --- boot -------------------------------------------------------------------

function bindShell() {
  el.main = document.getElementById("main");
  el.view = document.getElementById("view");
  el.flash = document.getElementById("flash");
  el.nav = document.getElementById("app-nav");
  el.navList = document.getElementById("nav-list");
  el.langToggle = document.getElementById("lang-toggle");
  el.logout = document.getElementById("logout-button");
  el.profileBox = document.getElementById("profile-switcher");
  el.profileSelect = document.getElementById("profile-select");
  el.offlineBanner = document.getElementById("offline-banner");
  el.brand = document.getElementById("brand-link");
  // A polite live region of the shell, in <main> beside the status messages, kept across screens.
  el.announcer = h("p", { id: "live-announcer", class: "sr-only", role: "status" });
  el.main.insertBefore(el.announcer, el.flash);
  live.subscribe(onLiveEvent);
  document.addEventListener("click", (event) => closeMoreMenu?.(event.target));

  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    const target = el.view.querySelector("h1") || el.main;
    target.focus();
    target.scrollIntoView({ block: "start" });
  });

  el.langToggle.addEventListener("click", () => {
    setLang(getLang() === "fr" ? "en" : "fr");
    translateShell();
    renderRoute({ focus: false });
  });

  el.logout.addEventListener("click", () => logout());

  el.profileSelect.addEventListener("change", () => {
    if (!selectProfile(el.profileSelect.value)) return;
    const route = router.current();
    if (route.name === "card" && route.params.length) router.navigate("card");
    else if (route.name === "prescriptions" && route.params.length) router.navigate("prescriptions");
    else if (route.name === "messages" && route.params.length) router.navigate("messages");
    else renderRoute({ focus: false });
  });

  window.addEventListener("online", () => reconnect());
  window.addEventListener("offline", () => setOffline(true));
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    /* the app works without offline support */
  });
  navigator.serviceWorker.ready.then(() => {
    document.documentElement.dataset.sw = "ready";
  });
}

onReauthRequired(confirmIdentity);

onUnauthorized(async () => {
  if (!state.me) return;
  await endSession();
  flash(t("error.session"), { next: true });
  router.navigate("login");
});

async function boot() {
  initLang();
  bindShell();
  translateShell();
  registerServiceWorker();
  await loadSession();
  router.start(() => renderRoute());
}

boot();
