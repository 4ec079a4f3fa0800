"""Make the OpenAPI document say exactly what the server does.

Litestar describes the success responses and the request bodies from the
handlers. This module completes the description with what the framework
cannot see:

- every error answer is ``application/problem+json`` with one shared
  ``Problem`` schema (RFC 9457); the 400 Litestar documents by default (its own
  ``ValidationException`` JSON) is replaced;
- errors every operation of a kind can give are added from what the handler
  is: a body or parameters can be malformed (400), a body can be too large
  (413), an operation behind a session answers 401 without one, every state
  change answers 403 without a same-origin CSRF token, an operation with a
  path parameter answers 404 for an unknown or hidden resource, an operator
  operation answers 401/403 without the operator token;
- the errors of the handler itself are declared on the handler with
  Litestar's own ``raises=[...]`` (409, 413, 415, 422, 429, and 403/404 where
  they do not follow from the above);
- a handler that answers files lists their types in ``opt={"content_types": ...}``;
- request bodies refuse unknown fields (``additionalProperties: false``),
  because every request Struct is declared with ``forbid_unknown_fields``.

Litestar's ``ProblemDetailsPlugin`` is not used: it only renders its own
exception type, in one language. Carnet's errors (``core/errors.py``) also map
the framework's own failures (validation, 404, 405, 413, CSRF) and answer in
the client's language, so the hand-written handler stays, and this module
documents what it answers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, get_args

import msgspec
from litestar import Litestar, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute

from backend.core.errors import PROBLEM_MEDIA_TYPE, STATUS_TEXT, InvalidRequest, schema_message_fr
from backend.core.schemas import Body

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SESSION_DEPENDENCY = "actor"

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="An error, as RFC 9457 problem details, in the language the client asked for.",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format="uri",  # type: ignore[arg-type]
                       description="Stable identifier of the kind of problem."),
        "title": Schema(type=OpenAPIType.STRING, description="Short summary of the kind of problem."),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": Schema(type=OpenAPIType.STRING, description="What went wrong, for a person."),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="One entry per refused field.",
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "rule": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
                additional_properties=False,
            ),
        ),
    },
    additional_properties=False,
)


def _problem_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=STATUS_TEXT.get(status, "Error"),
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


def _expected_errors(route: HTTPRoute, handler: HTTPRouteHandler, method: str, op: Operation) -> set[int]:
    """The error statuses that follow from what the handler is."""
    codes: set[int] = set()
    params = op.parameters or []
    has_body = op.request_body is not None
    if has_body or params:
        codes.add(400)
    if has_body:
        codes.add(413)
    if route.path_parameters:
        codes.add(404)
    if method in UNSAFE:
        codes.add(403)  # same-origin and CSRF checks on every state change
    if SESSION_DEPENDENCY in handler.resolve_dependencies():
        codes.add(401)
    if handler.resolve_guards():
        codes.update({401, 403})
    return codes


def _forbid_unknown_fields(components: Components) -> None:
    """``additionalProperties: false`` on every request Struct: the server refuses unknown fields."""
    schemas = components.schemas or {}
    pending: list[type] = [Body]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        config = getattr(cls, "__struct_config__", None)
        if config is None or not config.forbid_unknown_fields:
            continue
        schema = schemas.get(cls.__name__)
        if isinstance(schema, Schema):
            schema.additional_properties = False


def complete_contract(app: Litestar) -> None:
    """Complete ``app``'s OpenAPI document in place (it is built once and cached by Litestar)."""
    openapi = app.openapi_schema
    components = openapi.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas["Problem"] = PROBLEM_SCHEMA
    _forbid_unknown_fields(components)
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format)
        if path_item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                op: Operation | None = getattr(path_item, method.lower(), None)
                if op is None or not handler.resolve_include_in_schema():
                    continue
                responses: dict[str, Any] = op.responses or {}
                declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
                for code in sorted(declared | _expected_errors(route, handler, method, op)):
                    responses[str(code)] = _problem_response(code)
                if content_types := handler.opt.get("content_types"):
                    binary = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
                    responses[str(handler.status_code)].content = {
                        t: OpenAPIMediaType(schema=binary) for t in content_types}
                op.responses = dict(sorted(responses.items()))


_STRICT_TYPES: dict[int, type | None] = {}


def _json_body_type(handler: HTTPRouteHandler) -> type | None:
    """The Struct a handler's JSON body decodes to, or None (no body, or not JSON)."""
    key = id(handler)
    if key not in _STRICT_TYPES:
        field = handler.parsed_fn_signature.parameters.get("data")
        annotation = field.annotation if field is not None else None
        is_struct = isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
        _STRICT_TYPES[key] = annotation if is_struct else None
    return _STRICT_TYPES[key]


_ALLOW: dict[str, str] = {}


def _allow_header(request: Request) -> str | None:
    """Every method the matched path answers (Litestar's own OPTIONS answer may list only some)."""
    if not _ALLOW:
        for route in request.app.routes:
            if isinstance(route, HTTPRoute):
                _ALLOW[route.path_format] = ", ".join(sorted(route.methods))
    return _ALLOW.get(request.scope.get("path_template", ""))


async def enforce_contract(request: Request) -> Response | None:
    """Run before every handler: answer OPTIONS exactly, and check JSON bodies strictly."""
    if request.method == "OPTIONS":
        allow = _allow_header(request)
        return Response(content=None, status_code=204, headers={"Allow": allow}) if allow else None
    strict_date_queries(request)
    await strict_json_body(request)
    return None


_DATE_QUERIES: dict[int, tuple[tuple[str, type], ...]] = {}


def _date_queries(handler: HTTPRouteHandler) -> tuple[tuple[str, type], ...]:
    """The handler's query parameters typed as a date or a date-time."""
    key = id(handler)
    if key not in _DATE_QUERIES:
        found = []
        for name, field in handler.parsed_fn_signature.parameters.items():
            kinds = [t for t in (get_args(field.annotation) or (field.annotation,)) if t in (date, datetime)]
            if kinds:
                found.append((name, kinds[0]))
        _DATE_QUERIES[key] = tuple(found)
    return _DATE_QUERIES[key]


def strict_date_queries(request: Request) -> None:
    """A date query parameter must be an ISO 8601 date, never a number read as a timestamp."""
    for name, kind in _date_queries(request.route_handler):  # type: ignore[arg-type]
        value = request.query_params.get(name)
        if value is None:
            continue
        try:
            msgspec.convert(value, kind, strict=True)
        except msgspec.ValidationError:
            label = "date (AAAA-MM-JJ)" if kind is date else "date et heure ISO 8601"
            label_en = "date (YYYY-MM-DD)" if kind is date else "ISO 8601 date-time"
            raise InvalidRequest(f"Paramètre {name} invalide : {label} attendue.",
                                 detail_en=f"Invalid {name} parameter: {label_en} expected.",
                                 errors=[{"field": name, "rule": "format", "message": f"{label} attendue",
                                          "message_en": f"{label_en} expected"}]) from None


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts ``71.0`` as an integer: so does Carnet."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    return value


async def strict_json_body(request: Request) -> None:
    """Refuse a JSON body whose values only match its schema after coercion.

    Litestar converts request bodies leniently (``"12"`` or ``0`` would pass for
    an integer or a boolean), which the published schema does not allow. The
    body (already parsed and cached by the request) is converted once more,
    strictly, before the handler runs, so a body is accepted exactly when it
    matches the schema.
    """
    target = _json_body_type(request.route_handler)  # type: ignore[arg-type]
    if target is None or "json" not in (request.headers.get("content-type") or ""):
        return
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001 - malformed JSON: the framework's own parsing answers it
        return
    try:
        msgspec.convert(_integral_floats_as_ints(body), type=target, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = re.search(r"at `\$\.?([^`]*)`", message)
        field = (where.group(1) if where else "") or "body"
        message_fr = schema_message_fr(message)
        if "matching regex" in message:  # the pattern itself says nothing to a person
            message, message_fr = f"invalid format for {field}", f"format invalide pour {field}"
        raise InvalidRequest(f"Corps de requête invalide : {message_fr}",
                             detail_en=f"Invalid request body: {message}",
                             errors=[{"field": field, "rule": "schema", "message": message_fr,
                                      "message_en": message}]) from None
