"""Browser: "Accès & confidentialité" is a short hub with one sub-screen per subject, each
reached by a link, titled, accessible, and with its way back."""

from __future__ import annotations

from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import assert_accessible, ui_login

# Hub link -> the sub-screen's h1, and an element only that sub-screen has.
SCREENS = [
    ("Accès temporaire", "Donner un accès temporaire à un professionnel", "#temporary-form"),
    ("Professionnels de santé", "Professionnels de santé", "#care-team-title"),
    ("Paramètres de confidentialité", "Paramètres de confidentialité", "#research-history-title"),
    ("Historique des accès", "Historique des accès — Camille INVENTÉE", "#history-actor"),
    ("Mes données et fermeture", "Mes données", "#close-title"),
]


def test_each_subject_has_its_own_screen_and_way_back(page):
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.goto("/#/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès & confidentialité")
    hub = page.locator("#privacy-hub")
    expect(hub.get_by_role("link")).to_have_text([link for link, _, _ in SCREENS])
    # Short on a phone: the hub fits in about two screens.
    assert page.evaluate("document.documentElement.scrollHeight") < 2 * 844
    for link, title, marker in SCREENS:
        hub.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.get_by_role("heading", level=1)).to_be_focused()
        expect(page.locator(marker)).to_be_visible()
        # Only this subject is on the screen.
        others = [m for _, _, m in SCREENS if m != marker]
        for other in others:
            expect(page.locator(other)).to_have_count(0)
        # The main navigation still says where we are: on "Plus", and on "Accès" in its list.
        more = page.get_by_role("button", name="Plus", exact=True)
        expect(more).to_have_attribute("aria-current", "true")
        more.click()
        expect(page.get_by_role("link", name="Accès", exact=True)).to_have_attribute("aria-current", "page")
        more.click()
        assert_accessible(page, f"privacy: {link}")
        page.get_by_role("link", name="Retour à Accès & confidentialité").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès & confidentialité")
        expect(page.get_by_role("heading", level=1)).to_be_focused()


def test_a_parent_sees_whose_settings_each_screen_shows(page):
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    child = page.locator("#profile-select option", has_text="Léo").get_attribute("value")
    page.select_option("#profile-select", value=child)
    page.goto("/#/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès & confidentialité — Léo INVENTÉ")
    page.locator("#privacy-hub").get_by_role("link", name="Accès temporaire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Donner un accès temporaire à un professionnel — Léo INVENTÉ")
    page.goto("/#/privacy/history")
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique des accès — Léo INVENTÉ")
