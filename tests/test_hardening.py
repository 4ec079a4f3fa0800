"""HTTP hardening: same-origin state changes, sandboxed PDFs, one charset, ``__Host-`` cookies over https."""

from __future__ import annotations

import pytest

from backend.app import create_app
from backend.core.settings import load_settings
from tests.conftest import PUBLIC_URL


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "http://localhost:8001"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"origin": PUBLIC_URL, "sec-fetch-site": "cross-site"},
])
def test_a_state_change_from_another_site_is_refused_even_with_a_valid_csrf_token(world, headers):
    api, pid = world.patient.api, world.patient.person_id
    doc = world.docs["lab"]
    r = api.post(f"/api/documents/{doc}/mask", json={"masked": True}, headers=headers)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "ne vient pas de Carnet" in r.json()["detail"]
    listed = api.get(f"/api/profiles/{pid}/documents", params={"page_size": 100}).json()["items"]
    assert not next(d for d in listed if d["id"] == doc)["masked"]


@pytest.mark.parametrize("headers", [{"origin": PUBLIC_URL}, {"sec-fetch-site": "same-origin"},
                                     {"sec-fetch-site": "none"}, {}])
def test_same_origin_state_changes_go_through(world, headers):
    r = world.patient.api.post(f"/api/documents/{world.docs['lab']}/mask", json={"masked": False},
                               headers=headers)
    assert r.status_code == 200, r.text


def test_reads_from_elsewhere_are_not_concerned(world):
    r = world.patient.api.get("/api/me", headers={"origin": "https://evil.example",
                                                  "sec-fetch-site": "cross-site"})
    assert r.status_code == 200


def test_pdf_is_served_sandboxed_and_text_with_one_charset(world):
    api, pid = world.patient.api, world.patient.person_id
    r = api.get(f"/api/documents/{world.docs['lab']}/content")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-security-policy"].startswith("sandbox")
    up = api.post(f"/api/profiles/{pid}/documents", data={"title": "Note de suivi"},
                  files={"file": ("note.txt", "Tension 12/8, à revoir.".encode(), "text/plain")})
    assert up.status_code == 201, up.text
    r = api.get(f"/api/documents/{up.json()['id']}/content")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-security-policy"].startswith("sandbox")


def test_cookies_use_the_host_prefix_over_https(tmp_path):
    from backend.accounts.controllers import with_session
    from backend.core.auth import session_cookie_name
    from backend.core.schemas import Next

    settings = load_settings({"CARNET_DATA_DIR": str(tmp_path), "CARNET_PUBLIC_URL": "https://carnet.example",
                              "CARNET_ENV": "test"})
    app = create_app(settings)  # not started: the test database engine stays in place
    assert app.csrf_config.cookie_name == "__Host-carnet_csrf" and app.csrf_config.cookie_secure
    assert session_cookie_name(settings) == "__Host-carnet_session"
    [cookie] = with_session(settings, "token", Next(next="done")).cookies
    assert (cookie.key, cookie.secure, cookie.path, cookie.domain) == ("__Host-carnet_session", True, "/", None)


def test_plain_http_development_keeps_plain_cookie_names(main_client):
    r = main_client.get("/health")
    assert r.headers["set-cookie"].startswith("carnet_csrf=")
