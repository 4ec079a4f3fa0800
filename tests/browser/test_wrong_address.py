"""Browser: opened at another address of the same server (127.0.0.1 instead of localhost), the
login says in words where Carnet must be opened, for a password as for a passkey."""

from __future__ import annotations

from playwright.sync_api import expect

from backend import demo


def test_the_login_names_the_address_to_use(browser, server):
    other = server.replace("localhost", "127.0.0.1")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(other + "/#/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
        page.fill("#identifier", demo.CAMILLE)
        page.fill("#password", demo.DEMO_PASSWORD)
        page.get_by_role("button", name="Continuer").click()
        alert = page.get_by_role("alert").first
        expect(alert).to_contain_text(f"Ouvrez Carnet à l'adresse {server} pour vous connecter.")
        page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
        expect(page.get_by_role("alert").first).to_contain_text(f"Ouvrez Carnet à l'adresse {server}")
    finally:
        context.close()
