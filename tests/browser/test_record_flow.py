"""Browser: the citizen adds a photo to her record and hides it, shares a temporary
access code; the pharmacist redeems it and sees only what his profession may see;
the access shows in the citizen's history."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import assert_accessible, ui_login

PHOTO_TITLE = "Photo ordonnance du dentiste"
# Other browser tests log these accounts in with the current TOTP step: use later
# steps, each once (the server accepts the previous, current and next step only).
def _photo_with_gps(path) -> None:
    from PIL import Image

    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    image.save(path, "JPEG", exif=exif)


def test_photo_masked_code_redeemed_by_pharmacist_and_history(browser, server, context, page, tmp_path):
    photo = tmp_path / "ordonnance.jpg"
    _photo_with_gps(photo)

    # Camille logs in and opens her documents.
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.get_by_role("link", name="Documents").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes documents")
    documents = page.locator("#documents-list")
    expect(documents).to_contain_text("Ordonnance - traitement de fond")
    assert_accessible(page, "documents")

    # A photo of a prescription, taken with the camera input, filed as a prescription.
    page.set_input_files("#upload-photo", str(photo))
    expect(page.locator("#upload-chosen")).to_contain_text("ordonnance.jpg")
    page.fill("#upload-title", PHOTO_TITLE)
    page.select_option("#upload-type", "57828-6")
    page.get_by_role("button", name="Envoyer le document").click()
    expect(page.locator("#flash")).to_contain_text("ajouté")
    expect(documents).to_contain_text(PHOTO_TITLE)

    # Its page: preview, the location was removed; then hide it from professionals.
    page.get_by_role("link", name=PHOTO_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PHOTO_TITLE)
    expect(page.get_by_role("img", name=re.compile("Aperçu du document"))).to_be_visible()
    doc_id = page.url.rsplit("/", 1)[-1]
    content = page.request.get(f"/api/documents/{doc_id}/content")
    assert content.ok
    from PIL import Image

    assert not Image.open(io.BytesIO(content.body())).getexif().get(0x8825)
    page.get_by_role("button", name="Masquer aux professionnels").click()
    expect(page.locator("#mask-state")).to_have_text("Ce document est masqué aux professionnels.")
    # The confirmation outlives the screen's refresh.
    expect(page.locator("#flash")).to_have_text("Document masqué aux professionnels.")
    expect(page.get_by_role("button", name="Ne plus masquer")).to_be_focused()
    assert_accessible(page, "document page")

    # A temporary access code for the pharmacy.
    page.get_by_role("button", name="Plus", exact=True).click()
    page.get_by_role("link", name="Accès", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès & confidentialité")
    assert_accessible(page, "access and privacy hub")
    page.get_by_role("link", name="Accès temporaire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Donner un accès temporaire à un professionnel")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert_accessible(page, "temporary access")
    page.fill("#temporary-label", "Pharmacie du centre")
    page.select_option("#temporary-duration", "60")
    page.get_by_role("button", name="Créer un code d'accès").click()
    code = page.locator("#temporary-code-value")
    expect(code).to_have_text(re.compile(r"\S{4,}"))
    access_code = code.inner_text().strip()
    expect(page.locator("#temporary-list")).to_contain_text("Pharmacie du centre")

    # The pharmacist, in another browser, redeems the code.
    pro_context = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                                      locale="fr-FR", service_workers="allow")
    try:
        pro = pro_context.new_page()
        ui_login(pro, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
        expect(pro.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
        pro.fill("#redeem-code", access_code)
        pro.get_by_role("button", name="Accéder au dossier").click()
        expect(pro.get_by_role("heading", level=1)).to_have_text("Dossier de Camille INVENTÉE")
        listed = pro.locator("#patient-documents")
        # The pharmacist's row of the matrix: everything but psychiatric and psychological
        # documents; the masked photo stays hidden.
        for title in ("Ordonnance - traitement de fond", "Bilan sanguin annuel", "Historique des vaccinations",
                      "Consultation de suivi"):
            expect(listed).to_contain_text(title)
        for title in ("Synthèse psychiatrique", PHOTO_TITLE):
            expect(listed).not_to_contain_text(title)
        expect(pro.get_by_role("link", name="Ouvrir « Bilan sanguin annuel » (nouvel onglet)")).to_be_visible()
        assert_accessible(pro, "pro patient page")
    finally:
        pro_context.close()

    # Back to Camille: the code is used, and the access history names the pharmacist.
    page.reload()
    expect(page.locator("#temporary-list")).to_contain_text("Utilisé")
    page.get_by_role("link", name="Retour à Accès & confidentialité").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès & confidentialité")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.locator("#privacy-hub")).to_contain_text("1 code(s) en cours")
    page.get_by_role("link", name="Historique des accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique des accès — Camille INVENTÉE")
    assert_accessible(page, "access history")
    history = page.locator("#history-list")
    expect(history).to_contain_text("Bruno OFFICINE")
    expect(history).to_contain_text("Utilisation d'un code d'accès")
    page.select_option("#history-actor", "delegate")
    page.get_by_role("button", name="Filtrer l'historique").click()
    expect(history).not_to_contain_text("Bruno OFFICINE")
    page.select_option("#history-actor", "pro")
    page.select_option("#history-outcome", "allowed")
    page.get_by_role("button", name="Filtrer l'historique").click()
    expect(history).to_contain_text("Bruno OFFICINE")
    expect(page.locator("#history-count")).to_have_text(re.compile(r"\d+ sur \d+ affichés — \d+ autorisés"))
