"""Browser: activation with a passkey, login, the card and its QR code, offline card, logout."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import add_virtual_authenticator, assert_accessible, ui_login

STORE_COUNT = """() => new Promise((resolve) => {
  const req = indexedDB.open("carnet");
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains("snapshots")) { resolve(0); return; }
    const count = db.transaction("snapshots").objectStore("snapshots").count();
    count.onsuccess = () => resolve(count.result);
  };
  req.onerror = () => resolve(-1);
})"""

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
  }
  return urls;
}"""


def test_activate_with_passkey_login_card_qr_offline_logout(context, page):
    add_virtual_authenticator(context, page)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    assert_accessible(page, "login")

    page.get_by_role("link", name="Activer mon espace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer mon espace")
    page.fill("#nir", demo.PENDING[0])
    page.fill("#activation-code", "demo-actv-0001")
    page.fill("#birth-date", "1990-01-30")
    assert_accessible(page, "activation")
    page.get_by_role("button", name="Valider mes informations").click()
    page.get_by_role("button", name="Créer une clé d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    assert_accessible(page, "home")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")

    page.get_by_role("link", name="Ma carte").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ma carte")
    card = page.get_by_role("region", name="Marc ESSAI")
    expect(card).to_contain_text("1 90 01 •• ••• ••• ••")
    expect(card).not_to_contain_text("1 90 01 31 555 012 76")
    page.get_by_role("button", name="Afficher le NIR").click()
    expect(card).to_contain_text("1 90 01 31 555 012 76")
    page.get_by_role("button", name="Masquer le NIR").click()
    expect(card).not_to_contain_text("1 90 01 31 555 012 76")
    expect(page.get_by_role("button", name="Afficher le NIR")).to_be_focused()
    # The INS's OID is behind its details, not at first sight.
    oid = page.locator("#ins-details dd")
    expect(oid).not_to_be_visible()
    page.locator("#ins-details summary").click()
    expect(oid).to_have_text(re.compile(r"^1\.2\.250\.1\.213\.1\.4\.\d+$"))
    page.get_by_role("button", name="Présenter ma carte").click()
    qr = page.get_by_role("img", name=re.compile("QR code de présentation"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert_accessible(page, "card with QR code")

    assert page.evaluate(STORE_COUNT) >= 1
    page.evaluate("() => navigator.serviceWorker.ready")
    context.set_offline(True)
    page.reload()
    expect(page.locator("#view")).to_contain_text("ESSAI")
    expect(page.get_by_text("Hors ligne").first).to_be_visible()
    assert not [u for u in page.evaluate(CACHED_URLS) if "/api/" in u], "API answers must never be cached"
    context.set_offline(False)

    page.goto("/#/home")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    assert page.evaluate(STORE_COUNT) == 0


def test_password_totp_login_profiles_and_security_page(context, page):
    ui_login(page, demo.DOMINIQUE, demo.TOTP_SECRETS["dominique"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    # The caregiver can switch to the card Camille entrusted to them.
    options = page.locator("#profile-select option")
    expect(options).to_have_count(2)
    camille = page.locator("#profile-select option", has_text="Camille").get_attribute("value")
    page.select_option("#profile-select", value=camille)
    page.get_by_role("link", name="Ma carte").first.click()
    expect(page.locator("#view")).to_contain_text("INVENTÉE")
    page.goto("/#/security")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sécurité")
    assert_accessible(page, "security")
    page.goto("/#/delegations")
    assert_accessible(page, "delegations")
