"""Browser: a pharmacist logs in and checks a card presented by QR token; a replay is refused."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import assert_accessible, ui_login
from tests.factories import fresh_totp


def _presentation_token(server: str) -> str:
    with httpx.Client(base_url=server) as client:
        client.get("/health")
        client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
        client.post("/api/auth/login", json={"identifier": demo.CAMILLE, "password": demo.DEMO_PASSWORD})
        code = fresh_totp(demo.TOTP_SECRETS["camille"])
        assert client.post("/api/auth/login/totp", json={"code": code}).status_code == 200
        pid = client.get("/api/me").json()["profiles"][0]["id"]
        return client.post(f"/api/profiles/{pid}/presentations").json()["token"]


def test_pharmacist_verifies_a_presented_card_once(server, page):
    token = _presentation_token(server)
    ui_login(page, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    expect(page.locator("#view")).to_contain_text(demo.PHARMACIST_RPPS)
    assert_accessible(page, "pro")
    page.fill("#presentation-token", token)
    page.get_by_role("button", name="Vérifier la carte").click()
    expect(page.locator("#view")).to_contain_text("Carte vérifiée")
    expect(page.locator("#view")).to_contain_text("INVENTÉE")
    assert_accessible(page, "pro verified")
    page.fill("#presentation-token", token)
    page.get_by_role("button", name="Vérifier la carte").click()
    expect(page.locator("#view")).to_contain_text("déjà utilisé")
