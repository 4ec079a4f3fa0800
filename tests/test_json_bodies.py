"""Bad JSON bodies are the client's error: a 400 problem answer on every endpoint, never a 500."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
DEEP_ARRAY = b'{"q": ' + b"[" * 5000 + b"]" * 5000 + b"}"
DEEP_OBJECT = b'{"reason": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"

BODIES = {
    "truncated": b'{"q": "abc"',
    "not JSON": b"\xff\xfe",
    "an array": b"[1, 2]",
    "a string": b'"text"',
    "null": b"null",
    "a number": b"123",
    "infinite number": b'{"page": 1e999999}',
    "huge integer": b'{"page": 123456789012345678901234567890123456789}',
    "nested arrays": DEEP_ARRAY,
    "nested objects": DEEP_OBJECT,
}


def endpoints(world, make_api) -> dict:
    pid = world.patient.person_id
    return {
        "login": (make_api(), "/api/auth/login"),
        "documents search": (world.patient.api, f"/api/profiles/{pid}/documents/search"),
        "privacy": (world.patient.api, f"/api/profiles/{pid}/privacy"),
        "emergency": (world.pros["stranger"].api, f"/api/pro/patients/{pid}/emergency"),
        "patient search": (world.pros["gp"].api, "/api/pro/patients/search"),
    }


@pytest.mark.parametrize("endpoint", ["login", "documents search", "privacy", "emergency", "patient search"])
def test_every_bad_body_is_a_400_problem(world, make_api, endpoint):
    api, path = endpoints(world, make_api)[endpoint]
    for label, body in BODIES.items():
        r = api.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (label, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith(PROBLEM), label
        assert r.json()["status"] == 400


@pytest.mark.parametrize("endpoint", ["documents search", "emergency"])
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT])
def test_too_deep_json_says_so_in_both_languages(world, make_api, endpoint, body):
    api, path = endpoints(world, make_api)[endpoint]
    fr = api.post(path, content=body, headers={"content-type": "application/json"})
    en = api.post(path, content=body, headers={"content-type": "application/json", "accept-language": "en"})
    assert (fr.status_code, en.status_code) == (400, 400)
    assert fr.json()["detail"] == "Corps de requête invalide : JSON trop imbriqué."
    assert en.json()["detail"] == "Invalid request body: JSON nested too deeply."


def test_a_recursion_error_of_the_server_s_own_is_not_blamed_on_the_client():
    from litestar import Request

    from backend.core.errors import too_deep_handler

    request = Request(scope={"type": "http", "method": "GET", "path": "/x", "headers": [],
                             "query_string": b"", "path_template": "/x", "app": None})
    response = too_deep_handler(request, RecursionError("maximum recursion depth exceeded"))
    assert response.status_code == 500
