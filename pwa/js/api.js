// JSON client for the Carnet API: CSRF header, language, problem documents;
// multipart uploads with progress (XMLHttpRequest).

import { acceptLanguage, t } from "./i18n.js";

// "__Host-" prefixed when served over https (see backend/app.py).
const CSRF_COOKIES = ["__Host-carnet_csrf", "carnet_csrf"];
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let unauthorizedHandler = null;
let reauthHandler = null;
const REAUTH = "/reauthentication-required";

/** Called with the error when an authenticated call answers 401 (session gone). */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/**
 * Called when the API asks for a fresh proof of identity before a sensitive
 * change; resolves true once proven, and the call is then sent once more.
 */
export function onReauthRequired(fn) {
  reauthHandler = fn;
}

export class ApiError extends Error {
  constructor({ status, title, detail, errors, retryAfter, network = false }) {
    super(detail || title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.title = title || "";
    this.detail = detail || "";
    this.errors = Array.isArray(errors) ? errors : [];
    this.retryAfter = retryAfter || 0;
    this.network = network;
  }
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

function csrfCookie() {
  for (const name of CSRF_COOKIES) {
    const value = readCookie(name);
    if (value) return value;
  }
  return "";
}

async function csrfToken() {
  let token = csrfCookie();
  if (!token) {
    // Any GET answer sets the cookie.
    try {
      await fetch("/health", { credentials: "same-origin", cache: "no-store" });
    } catch {
      /* the real request below reports the network failure */
    }
    token = csrfCookie();
  }
  return token;
}

/**
 * Call the API. Options: body (JSON), auth (false for login/activation steps,
 * whose 401 answers are wrong credentials rather than an ended session), raw
 * (resolve to {data, response} instead of data).
 */
export async function request(method, path, { body, auth = true, raw = false, retried = false } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": acceptLanguage() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) {
    const token = await csrfToken();
    if (token) headers["x-csrf-token"] = token;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
    });
  } catch {
    throw new ApiError({ status: 0, detail: t("error.network"), network: true });
  }
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (response.status !== 204 && type.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.status === 403 && !retried && reauthHandler && String(data?.type || "").endsWith(REAUTH)) {
    if (await reauthHandler()) return request(method, path, { body, auth, raw, retried: true });
  }
  if (!response.ok) {
    throw failure(response.status, data, response.headers.get("retry-after"), auth);
  }
  return raw ? { data, response } : data;
}

/** The ApiError of a failed answer; a 401 on an authenticated call ends the session. */
function failure(status, data, retryAfter, auth) {
  const retry = Number.parseInt(retryAfter || "", 10);
  const err = new ApiError({
    status,
    title: data?.title,
    detail: data?.detail || t(status === 413 ? "error.too_large" : "error.generic", { status }),
    errors: data?.errors,
    retryAfter: Number.isFinite(retry) ? retry : 0,
  });
  if (status === 401 && auth && unauthorizedHandler) unauthorizedHandler(err);
  return err;
}

/**
 * POST a multipart form with XMLHttpRequest, to report upload progress.
 * onProgress(fraction 0..1) is called while the body is sent. The
 * Idempotency-Key header makes a retry of the same upload safe.
 */
export async function upload(path, formData, { idempotencyKey, onProgress } = {}) {
  const token = await csrfToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", acceptLanguage());
    if (token) xhr.setRequestHeader("x-csrf-token", token);
    if (idempotencyKey) xhr.setRequestHeader("Idempotency-Key", idempotencyKey);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
    }
    xhr.addEventListener("load", () => {
      let data = null;
      if ((xhr.getResponseHeader("content-type") || "").includes("json")) {
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(1);
        resolve(data);
      } else {
        reject(failure(xhr.status, data, xhr.getResponseHeader("retry-after"), true));
      }
    });
    const offline = () => reject(new ApiError({ status: 0, detail: t("error.network"), network: true }));
    xhr.addEventListener("error", offline);
    xhr.addEventListener("abort", offline);
    xhr.addEventListener("timeout", offline);
    xhr.send(formData);
  });
}

export const api = {
  get: (path, opts) => request("GET", path, opts),
  post: (path, body, opts) => request("POST", path, { ...opts, body: body ?? {} }),
  del: (path, opts) => request("DELETE", path, opts),
};

// --- live updates ---------------------------------------------------------------------------
//
// One Server-Sent Events stream (GET /api/messaging/events) for the whole app, opened by
// the shell while someone is logged in and closed at logout. Its events carry ids and
// counts only, never a text: whoever listens fetches what it shows again. The browser
// reconnects by itself when the stream ends; the first event after a reconnection is
// given to the listeners as "resync", since events may have been missed meanwhile.
// A stream refused outright (the session ended, the server is away) is not retried by
// the browser: the unread count is asked instead (a 401 there ends the session as any
// other call does), and the stream is opened again once it answers.

const LIVE_KINDS = ["ready", "message", "read", "thread", "resync"];
const LIVE_RETRY_MS = 15000;
const liveListeners = new Set();
let liveSource = null;
let liveWanted = false;
let liveMissed = false;
let liveTimer = null;

function liveDispatch(kind, data) {
  for (const listener of [...liveListeners]) {
    try {
      listener(kind, data);
    } catch {
      /* one listener's failure does not keep the event from the others */
    }
  }
}

function liveOpen() {
  if (liveSource || !liveWanted || typeof EventSource === "undefined") return;
  const source = new EventSource("/api/messaging/events");
  liveSource = source;
  for (const kind of LIVE_KINDS) {
    source.addEventListener(kind, (event) => {
      if (source !== liveSource) return;
      let data = {};
      try {
        data = JSON.parse(event.data || "{}") || {};
      } catch {
        data = {};
      }
      if (kind === "ready" && liveMissed) {
        liveMissed = false;
        liveDispatch("resync", data);
      } else {
        liveDispatch(kind, data);
      }
    });
  }
  source.addEventListener("error", () => {
    if (source !== liveSource) return;
    liveMissed = true;
    if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    source.close();
    liveSource = null;
    clearTimeout(liveTimer);
    liveTimer = setTimeout(async () => {
      liveTimer = null;
      if (!liveWanted) return;
      try {
        await request("GET", "/api/messaging/unread");
        liveOpen();
      } catch (err) {
        if (liveWanted && err.status !== 401) liveTimer = setTimeout(liveOpen, LIVE_RETRY_MS);
      }
    }, 1000);
  });
}

export const live = {
  /** Open the stream (once; again after stop()). */
  start() {
    liveWanted = true;
    liveOpen();
  },
  /** Close the stream (logout, offline). */
  stop() {
    liveWanted = false;
    liveMissed = false;
    clearTimeout(liveTimer);
    liveTimer = null;
    liveSource?.close();
    liveSource = null;
  },
  /** listener(kind, data) on every event; returns the function that stops listening. */
  subscribe(listener) {
    liveListeners.add(listener);
    return () => liveListeners.delete(listener);
  },
};
