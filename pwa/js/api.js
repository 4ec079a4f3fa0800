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
