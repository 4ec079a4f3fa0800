// JSON client for the Carnet API: CSRF header, language, problem documents.

import { acceptLanguage, t } from "./i18n.js";

const CSRF_COOKIE = "carnet_csrf";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let unauthorizedHandler = null;

/** Called with the error when an authenticated call answers 401 (session gone). */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
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

async function csrfToken() {
  let token = readCookie(CSRF_COOKIE);
  if (!token) {
    // Any GET answer sets the cookie.
    try {
      await fetch("/health", { credentials: "same-origin", cache: "no-store" });
    } catch {
      /* the real request below reports the network failure */
    }
    token = readCookie(CSRF_COOKIE);
  }
  return token;
}

/**
 * Call the API. Options: body (JSON), auth (false for login/activation steps,
 * whose 401 answers are wrong credentials rather than an ended session), raw
 * (resolve to {data, response} instead of data).
 */
export async function request(method, path, { body, auth = true, raw = false } = {}) {
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
  if (!response.ok) {
    const retry = Number.parseInt(response.headers.get("retry-after") || "", 10);
    const err = new ApiError({
      status: response.status,
      title: data?.title,
      detail: data?.detail || t("error.generic", { status: response.status }),
      errors: data?.errors,
      retryAfter: Number.isFinite(retry) ? retry : 0,
    });
    if (response.status === 401 && auth && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  return raw ? { data, response } : data;
}

export const api = {
  get: (path, opts) => request("GET", path, opts),
  post: (path, body, opts) => request("POST", path, { ...opts, body: body ?? {} }),
  del: (path, opts) => request("DELETE", path, opts),
};
