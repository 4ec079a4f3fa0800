// Service worker: precaches the app shell only. API answers (health data),
// the OpenAPI schema and the health check always go to the network and are
// never stored in CacheStorage. Bump VERSION when a shell file changes.

const VERSION = "v3";
const SHELL_CACHE = `carnet-shell-${VERSION}`;
const CACHE_PREFIX = "carnet-";

const SHELL = [
  "/index.html",
  "/offline.html",
  "/manifest.webmanifest",
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
  "/js/views/documents.js",
  "/js/views/enroll.js",
  "/js/views/home.js",
  "/js/views/login.js",
  "/js/views/patient.js",
  "/js/views/privacy.js",
  "/js/views/pro.js",
  "/js/views/security.js",
  "/icons/favicon-32.png",
  "/icons/apple-touch-icon.png",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-512.png",
];

function isNetworkOnly(url) {
  const p = url.pathname;
  return p === "/api" || p.startsWith("/api/") || p === "/schema" || p.startsWith("/schema/")
    || p === "/health" || p === "/sw.js";
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
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

async function shellAsset(request) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  return cached || fetch(request);
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
  if (SHELL.includes(url.pathname)) {
    event.respondWith(shellAsset(request));
  }
});
