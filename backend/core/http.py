"""HTTP hardening: security headers, no caching of API answers, same-origin state changes."""

from __future__ import annotations

import json
import logging
import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.errors import english_first

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=(), payment=()"),
]
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def security_headers(hsts: bool):
    """Build the ASGI middleware factory adding the security headers."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            # Every answer that does not choose its own caching is never stored: API
            # answers (health data), errors, sw.js. The PWA's files set theirs (versioned
            # assets immutable, the rest revalidated: see backend/app.py).

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    names = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [h for h in _COMMON if h[0] not in names]
                    if b"cache-control" not in names:
                        extra.append(_NO_STORE)
                    if hsts:
                        extra.append(_HSTS)
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return factory


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_SITES_OK = {"same-origin", "none"}  # "none": typed by the user, no other site involved
# Also what someone sees who opened Carnet at another address of the same server (say
# 127.0.0.1 for localhost): it names the address where logging in and passkeys work.
_REFUSAL = {
    "fr": ("Action non autorisée", "Requête refusée : elle ne vient pas de Carnet (origine {origin}). "
                                   "Ouvrez Carnet à l'adresse {expected} pour vous connecter."),
    "en": ("Forbidden", "Request refused: it does not come from Carnet (origin {origin}). "
                        "Open Carnet at {expected} to log in."),
}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def same_origin_writes(origin: str):
    """Build the ASGI middleware refusing state changes sent from another site.

    Browsers send ``Origin`` and ``Sec-Fetch-Site`` with every POST, PUT, PATCH
    and DELETE: a request from another site is refused even when it carries a
    valid CSRF token. The operator's bearer-token endpoints are exempt.
    """

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if (scope["type"] == "http" and scope["method"] in _UNSAFE and scope["path"].startswith("/api/")
                    and not scope["path"].startswith("/api/admin")):
                sent_origin = _header(scope, b"origin")
                site = _header(scope, b"sec-fetch-site")
                if (sent_origin is not None and sent_origin != origin) or (
                        site is not None and site not in _SITES_OK):
                    await _refuse(scope, send, sent_origin or site or "", origin)
                    return
            await app(scope, receive, send)

        return middleware

    return factory


async def _refuse(scope: Scope, send: Send, seen: str, expected: str) -> None:
    english = english_first(_header(scope, b"accept-language") or "")
    title, detail = _REFUSAL["en" if english else "fr"]
    body = json.dumps({"type": "https://carnet.example/problems/forbidden", "title": title, "status": 403,
                       "detail": detail.format(origin=seen[:100], expected=expected)},
                      ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
               (b"content-language", b"en" if english else b"fr")]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


access_log = logging.getLogger("carnet.access")


def request_log():
    """Build the ASGI middleware logging one line per API request: method, route template, status, time.

    The route template (``/api/documents/{document_id}``) is logged, never the
    path itself, the query string or a body: no identifier or health data
    reaches the logs.
    """

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope["path"].startswith("/api/"):
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                access_log.info("%s %s %s %.1fms", scope["method"], scope.get("path_template", "(unrouted)"),
                                status, (time.perf_counter() - started) * 1000)

        return middleware

    return factory
