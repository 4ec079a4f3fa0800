"""Browser: a sensitive change on an old session asks "Confirmez votre identité", then goes through."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import DATA_DIRS, assert_accessible, ui_login
from tests.factories import fresh_totp


def forget_proofs(server: str) -> None:
    """Every session's last proof becomes unknown, as if it were older than the window."""
    with sqlite3.connect(Path(DATA_DIRS[server]) / "carnet.sqlite3") as db:
        db.execute("UPDATE user_session SET authenticated_at = NULL")


def test_password_change_on_an_old_session_asks_to_confirm_identity(server, page):
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/#/security")
    page.get_by_role("button", name="Changer de mot de passe").click()
    forget_proofs(server)
    page.fill("#password", "quatre mots sans rapport violon")
    page.fill("#password-confirm", "quatre mots sans rapport violon")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()

    dialog = page.get_by_role("dialog", name="Confirmez votre identité")
    expect(dialog).to_be_visible()
    expect(page.locator("#reauth-password")).to_be_focused()
    assert_accessible(page, "re-authentication dialog")
    page.fill("#reauth-password", "mauvais mot de passe")
    page.fill("#reauth-code", "000000")
    dialog.get_by_role("button", name="Confirmer").click()
    expect(dialog.get_by_role("alert")).to_contain_text("incorrect")
    page.fill("#reauth-password", demo.DEMO_PASSWORD)
    page.fill("#reauth-code", fresh_totp(demo.TOTP_SECRETS["camille"]))
    dialog.get_by_role("button", name="Confirmer").click()
    expect(dialog).to_be_hidden()
    # The change went through after the proof: the new secret is offered for enrolment.
    expect(page.get_by_text("Associer votre application d'authentification")).to_be_visible()
