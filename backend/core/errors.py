"""One error tree, one handler: every failure answers ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://carnet.example/problems/"
log = logging.getLogger("carnet.errors")

# Stable problem types with their titles, French first.
TITLES: dict[str, tuple[str, str]] = {
    "invalid-request": ("Requête invalide", "Invalid request"),
    "invalid-identifier": ("Identifiant invalide", "Invalid identifier"),
    "unprocessable": ("Demande refusée", "Request refused"),
    "not-found": ("Introuvable", "Not found"),
    "unauthenticated": ("Authentification requise", "Authentication required"),
    "invalid-credentials": ("Identifiants invalides", "Invalid credentials"),
    "forbidden": ("Action non autorisée", "Forbidden"),
    "reauthentication-required": ("Confirmation d'identité requise", "Reauthentication required"),
    "too-many-attempts": ("Trop de tentatives", "Too many attempts"),
    "conflict": ("Conflit", "Conflict"),
    "payload-too-large": ("Contenu trop volumineux", "Payload too large"),
    "invalid-token": ("Jeton refusé", "Token refused"),
    "method-not-allowed": ("Méthode non autorisée", "Method not allowed"),
    "unsupported-media-type": ("Type de contenu non pris en charge", "Unsupported media type"),
    "internal": ("Erreur interne", "Internal error"),
}

# How the contract (core/contract.py) describes each error status.
STATUS_TEXT: dict[int, str] = {
    400: "Invalid request: malformed body, parameter or field (problem details)",
    401: "Authentication required, or credentials refused",
    403: "Forbidden: not allowed for this actor, reauthentication required, or no same-origin CSRF token",
    404: "Not found, or not visible to this actor",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Well-formed but refused: an invalid identifier (NIR, INS, RPPS, FINESS check digit), "
         "an unknown or expired code, a weak password, a value out of range",
    429: "Too many attempts: retry after the Retry-After delay",
}


class CarnetError(HTTPException):
    """Base of every error Carnet raises on purpose.

    Args:
        detail: what is wrong, in French (the default language).
        detail_en: the same in English.
        errors: optional list of ``{"field", "rule", "message"}`` entries.
        headers: extra response headers (``Retry-After``...).
    """

    status_code = 400
    problem = "invalid-request"

    def __init__(
        self,
        detail: str = "",
        *,
        detail_en: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, headers=headers)
        self.detail_en = detail_en or detail
        self.errors = errors or []


class InvalidRequest(CarnetError):
    """The request does not match its published schema (syntax, types, formats): 400."""

    status_code = 400
    problem = "invalid-request"


class Unprocessable(CarnetError):
    """The request matches its schema but its content is refused (an unknown code, a weak
    password, a date out of range): 422, as RFC 9110 describes it."""

    status_code = 422
    problem = "unprocessable"


class InvalidIdentifier(CarnetError):
    status_code = 422
    problem = "invalid-identifier"


class NotFound(CarnetError):
    status_code = 404
    problem = "not-found"

    def __init__(self, detail: str = "Ressource introuvable.", **kw: Any) -> None:
        kw.setdefault("detail_en", "Resource not found.")
        super().__init__(detail, **kw)


class Unauthenticated(CarnetError):
    status_code = 401
    problem = "unauthenticated"

    def __init__(self, detail: str = "Connectez-vous pour continuer.", **kw: Any) -> None:
        kw.setdefault("detail_en", "Log in to continue.")
        super().__init__(detail, **kw)


class InvalidCredentials(CarnetError):
    status_code = 401
    problem = "invalid-credentials"


class Forbidden(CarnetError):
    status_code = 403
    problem = "forbidden"


class ReauthenticationRequired(CarnetError):
    """A sensitive change needs a recent proof of the owner (password + code, or a passkey)."""

    status_code = 403
    problem = "reauthentication-required"

    def __init__(self, detail: str = "Confirmez votre identité pour continuer.", **kw: Any) -> None:
        kw.setdefault("detail_en", "Confirm your identity to continue.")
        super().__init__(detail, **kw)


class TooManyAttempts(CarnetError):
    status_code = 429
    problem = "too-many-attempts"


class Conflict(CarnetError):
    status_code = 409
    problem = "conflict"


class InvalidToken(CarnetError):
    """A well-formed token that is unknown, expired or already used."""

    status_code = 422
    problem = "invalid-token"


class PayloadTooLarge(CarnetError):
    status_code = 413
    problem = "payload-too-large"


class UnsupportedMediaType(CarnetError):
    status_code = 415
    problem = "unsupported-media-type"


def prefers_english(request: Request) -> bool:
    """True when the client asks for English before French."""
    return english_first(request.headers.get("accept-language", ""))


def english_first(accept: str) -> bool:
    """True when an ``Accept-Language`` value names English before French (French otherwise)."""
    for part in accept.split(","):
        lang = part.split(";")[0].strip().lower()
        if lang.startswith("fr"):
            return False
        if lang.startswith("en"):
            return True
    return False


def problem_response(
    request: Request,
    *,
    status: int,
    problem: str,
    detail: str,
    detail_en: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a problem document in the client's language."""
    english = prefers_english(request)
    title_fr, title_en = TITLES.get(problem, TITLES["invalid-request"])
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem,
        "title": title_en if english else title_fr,
        "status": status,
        "detail": (detail_en or detail) if english else detail,
    }
    if errors:
        body["errors"] = [_localised(e, english) for e in errors]
    return Response(
        content=body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), "Content-Language": "en" if english else "fr"},
    )


def _localised(error: dict[str, str], english: bool) -> dict[str, str]:
    """One ``errors[]`` entry in the client's language: ``message`` is French, ``message_en``
    (when the source gave one) English."""
    shown = {k: v for k, v in error.items() if k != "message_en"}
    if english and error.get("message_en"):
        shown["message"] = error["message_en"]
    return shown


# msgspec's validation messages, in French. Anything not listed stays in English in both.
_SCHEMA_MESSAGES_FR = [
    (re.compile(r"^Object missing required field `([^`]+)`"), r"champ obligatoire absent : « \1 »"),
    (re.compile(r"^Object contains unknown field `([^`]+)`"), r"champ inconnu : « \1 »"),
    (re.compile(r"^Invalid enum value (.+?)(?= - at|$)"), r"valeur non prévue : \1"),
    (re.compile(r"^Expected `([^`]+)` of length <= (\d+)"), r"longueur au plus \2"),
    (re.compile(r"^Expected `([^`]+)` of length >= (\d+)"), r"longueur au moins \2"),
    (re.compile(r"^Expected `([^`]+)` matching regex .*?(?= - at|$)"), r"format invalide"),
    (re.compile(r"^Expected `([^`]+)` (<=|>=|<|>) (\S+?)(?= - at|$)"), r"nombre attendu \2 \3"),
    (re.compile(r"^Expected `([^`]+)`, got `([^`]+)`"), r"type attendu : \1 (reçu : \2)"),
    (re.compile(r"^Invalid RFC3339 encoded datetime"), r"date et heure ISO 8601 invalide"),
    (re.compile(r"^Invalid ISO 8601 date"), r"date invalide (AAAA-MM-JJ)"),
    (re.compile(r"^Invalid UUID"), r"identifiant (UUID) invalide"),
]
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def schema_message_fr(message: str) -> str:
    """A validation message in French, keeping where it applies (`` - at `$.field` ``)."""
    where = _AT.search(message)
    core = message[: where.start()] if where else message
    for pattern, replacement in _SCHEMA_MESSAGES_FR:
        if pattern.search(core):
            core = pattern.sub(replacement, core, count=1)
            break
    return core + (f" (champ « {where.group(1)} »)" if where and where.group(1) else "")


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    out = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            out.append({"field": str(item.get("key") or item.get("source") or "body"), "rule": "schema",
                        "message": schema_message_fr(message), "message_en": message})
    return out


def carnet_error_handler(request: Request, exc: CarnetError) -> Response:
    return problem_response(
        request,
        status=exc.status_code,
        problem=exc.problem,
        detail=str(exc.detail),
        detail_en=exc.detail_en,
        errors=exc.errors,
        headers=exc.headers,
    )


_STATUS_PROBLEMS = {
    400: ("invalid-request", "La requête est invalide.", "The request is invalid."),
    401: ("unauthenticated", "Connectez-vous pour continuer.", "Log in to continue."),
    403: ("forbidden", "Action non autorisée.", "This action is not allowed."),
    404: ("not-found", "Ressource introuvable.", "Resource not found."),
    405: ("method-not-allowed", "Méthode non autorisée.", "Method not allowed."),
    413: (
        "payload-too-large",
        "Le contenu envoyé dépasse la taille autorisée.",
        "The request body is larger than allowed.",
    ),
    415: (
        "unsupported-media-type",
        "Type de contenu non pris en charge.",
        "Unsupported content type.",
    ),
    429: ("too-many-attempts", "Trop de requêtes.", "Too many requests."),
}


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    """Map framework errors (validation, 404, 405, 413, CSRF) to problem documents."""
    status = exc.status_code
    problem, detail_fr, detail_en = _STATUS_PROBLEMS.get(
        status, ("invalid-request", "La requête est invalide.", "The request is invalid.")
    )
    errors: list[dict[str, str]] = []
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail_fr = "Corps de requête invalide : " + (
            "; ".join(e["message"] for e in errors) or schema_message_fr(str(exc.detail)))
        detail_en = "Invalid request body: " + ("; ".join(e["message_en"] for e in errors) or str(exc.detail))
    elif status == 400 and str(exc.detail).startswith("JSON is malformed"):
        message = str(exc.detail).removeprefix("JSON is malformed: ")
        detail_fr = f"Corps de requête invalide : JSON mal formé ({message})."
        detail_en = f"Invalid request body: malformed JSON ({message})."
    elif status == 403 and "csrf" in str(exc.detail).lower():
        detail_fr = "Jeton CSRF absent ou invalide : rechargez la page."
        detail_en = "Missing or invalid CSRF token: reload the page."
    elif status >= 500:
        return internal_error_handler(request, exc)
    return problem_response(
        request,
        status=status,
        problem=problem,
        detail=detail_fr,
        detail_en=detail_en,
        errors=errors,
        headers=getattr(exc, "headers", None),
    )


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Log the failure and answer a bare 500.

    The log holds the exception type, the route template and the stack frames,
    never the exception's message (database errors quote the values they
    refused) nor the path (it carries identifiers).
    """
    frames = "".join(traceback.format_tb(exc.__traceback__)[-5:])
    route = request.scope.get("path_template", "(unrouted)")  # the template: no id from the URL
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, route, frames)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        problem="internal",
        detail="Une erreur interne est survenue.",
        detail_en="An internal error occurred.",
    )


_DECODER_DEPTH_MESSAGES = ("while deserializing", "while decoding a JSON")


def too_deep_handler(request: Request, exc: RecursionError) -> Response:
    """A request body nested deeper than the decoder's recursion limit is the client's error.

    Only the JSON decoders' own depth errors are the client's: any other
    recursion error is a bug in the server, answered as such.
    """
    if not any(m in str(exc) for m in _DECODER_DEPTH_MESSAGES):
        return internal_error_handler(request, exc)
    return problem_response(
        request,
        status=400,
        problem="invalid-request",
        detail="Corps de requête invalide : JSON trop imbriqué.",
        detail_en="Invalid request body: JSON nested too deeply.",
        errors=[{"field": "body", "rule": "depth", "message": "JSON trop imbriqué",
                 "message_en": "JSON nested too deeply"}],
    )


EXCEPTION_HANDLERS = {
    CarnetError: carnet_error_handler,
    RecursionError: too_deep_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
