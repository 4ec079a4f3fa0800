// Service worker: precaches the app shell only. API answers (health data, the
// messages and their attachments, the live event stream), the OpenAPI schema and
// the health check always go to the network and are never stored in CacheStorage.
//
// The server replaces BUILD with the content hash of pwa/ (backend/app.py), so
// every deploy changes this file: the browser installs the new worker, which
// precaches the new versioned assets ("/js/app.js?v=<BUILD>") in a new cache
// and deletes the old ones. Bump VERSION when the caching logic itself changes.

const VERSION = "v4";
const BUILD = "dev";
const SHELL_CACHE = `carnet-shell-${VERSION}-${BUILD}`;
const CACHE_PREFIX = "carnet-";

// Stored as they are (revalidated by the server on every online load).
const PAGES = ["/index.html", "/offline.html", "/manifest.webmanifest"];

// Stored under "<path>?v=<BUILD>", the URLs that index.html and the modules use.
const ASSETS = [
  "/css/app.css",
  "/js/app.js",
  "/js/api.js",
  "/js/dom.js",
  "/js/i18n.js",
  "/js/patients.js",
  "/js/reauth.js",
  "/js/router.js",
  "/js/store.js",
  "/js/webauthn.js",
  "/js/views/activate.js",
  "/js/views/card.js",
  "/js/views/delegations.js",
  "/js/views/dispense.js",
  "/js/views/documents.js",
  "/js/views/enroll.js",
  "/js/views/home.js",
  "/js/views/inbox.js",
  "/js/views/login.js",
  "/js/views/messages.js",
  "/js/views/patient.js",
  "/js/views/prescribe.js",
  "/js/views/prescriptions.js",
  "/js/views/privacy.js",
  "/js/views/pro.js",
  "/js/views/security.js",
  "/icons/brand-96.png",
  "/icons/favicon-32.png",
  "/icons/apple-touch-icon.png",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-512.png",
];

const versioned = (path) => `${path}?v=${BUILD}`;

function isNetworkOnly(url) {
  const p = url.pathname;
  return p === "/api" || p.startsWith("/api/") || p === "/schema" || p.startsWith("/schema/")
    || p === "/health" || p === "/sw.js";
}

self.addEventListener("install", (event) => {
  const urls = [...PAGES, ...ASSETS.map(versioned)];
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(urls.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith(CACHE_PREFIX) && name !== SHELL_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function navigation(request) {
  try {
    return await fetch(request);
  } catch {
    const cache = await caches.open(SHELL_CACHE);
    return (await cache.match(request, { ignoreSearch: true }))
      || (await cache.match("/index.html"))
      || (await cache.match("/offline.html"))
      || Response.error();
  }
}

// The current version's files never change: from the cache. Any other URL of a
// shell file (no version, an older one, the pages) goes to the network, and to
// the cached copy only when the network is gone.
async function shellFile(request, url) {
  const cache = await caches.open(SHELL_CACHE);
  if (url.search === `?v=${BUILD}`) {
    const cached = await cache.match(request);
    if (cached) return cached;
  }
  try {
    return await fetch(request);
  } catch (err) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Not intercepted: the browser goes straight to the network, nothing is cached.
  if (isNetworkOnly(url)) return;
  if (request.mode === "navigate") {
    event.respondWith(navigation(request));
    return;
  }
  if (ASSETS.includes(url.pathname) || PAGES.includes(url.pathname)) {
    event.respondWith(shellFile(request, url));
  }
});
