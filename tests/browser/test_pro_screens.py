"""Browser: a professional activates their account from the login screen, lists "Mes patients",
and checks a card by scanning its QR code with the camera (typing stays available)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import DATA_DIRS, add_virtual_authenticator, assert_accessible, ui_login
from tests.browser.test_pro_flow import _presentation_token
from tests.factories import fresh_rpps

# The camera and the QR decoder, as a browser offering BarcodeDetector would: the stream is a
# canvas's (its tracks end when stopped), the decoder reads whatever window.__qrText holds.
FAKE_CAMERA = """
(() => {
  window.__qrText = "";
  window.__streams = [];
  class FakeBarcodeDetector {
    static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
    constructor(options) { window.__detectorFormats = options && options.formats; }
    async detect() { return window.__qrText ? [{ format: "qr_code", rawValue: window.__qrText }] : []; }
  }
  window.BarcodeDetector = FakeBarcodeDetector;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__constraints = constraints;
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 64;
    canvas.getContext("2d").fillRect(0, 0, 64, 64);
    const stream = canvas.captureStream(5);
    window.__streams.push(stream);
    return stream;
  };
})();
"""
ALL_TRACKS_ENDED = ("() => window.__streams.length > 0 && window.__streams.every("
                    "(s) => s.getTracks().every((t) => t.readyState === 'ended'))")


def _import_professional(server: str, rpps: str) -> str:
    """A new professional in the directory; returns the activation code the import issued."""
    secrets = json.loads((Path(DATA_DIRS[server]) / "secrets.json").read_text())
    row = {"rpps": rpps, "last_name": "NOUVEAU", "first_name": "Noé", "profession_code": "10",
           "specialty": "Médecine générale", "structure_name": "Maison de santé du Lac",
           "finess": "750000010"}
    with httpx.Client(base_url=server) as client:
        r = client.post("/api/admin/directory/import", content=json.dumps([row]),
                        headers={"authorization": f"Bearer {secrets['admin_token']}",
                                 "content-type": "application/json"})
    assert r.status_code == 200, r.text
    [result] = r.json()["rows"]
    assert result["status"] == "created", result
    return result["activation_code"]


def test_professional_activates_from_the_login_screen(server, context, page):
    rpps = fresh_rpps()
    code = _import_professional(server, rpps)
    add_virtual_authenticator(context, page)
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_role("link", name="Professionnel de santé : activer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer mon compte professionnel")
    assert_accessible(page, "pro activation")

    # Client-side checks first, announced in the alert and next to the field.
    page.fill("#pro-rpps", "1234")
    page.get_by_role("button", name="Valider mes informations").click()
    expect(page.locator("#pro-rpps-error")).to_have_text("Le numéro RPPS comporte 11 chiffres.")
    expect(page.locator("#pro-rpps")).to_have_attribute("aria-invalid", "true")
    # A wrong code is refused by the server, without saying which part is wrong.
    page.fill("#pro-rpps", rpps)
    page.fill("#pro-activation-code", "NOPE-NOPE-NOPE")
    page.get_by_role("button", name="Valider mes informations").click()
    expect(page.get_by_role("alert").first).to_contain_text("incorrect")
    assert_accessible(page, "pro activation refused")

    page.fill("#pro-activation-code", code.lower())
    page.get_by_role("button", name="Valider mes informations").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("Étape 2 sur 2"))).to_be_focused()
    assert_accessible(page, "pro enrolment")
    page.get_by_role("button", name="Créer une clé d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    expect(page.locator("#view")).to_contain_text(rpps)
    expect(page.get_by_text("Votre compte professionnel est activé")).to_be_visible()

    # The code is spent, and the new account logs in with its passkey.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")


def test_my_patients_lists_the_gps_patients_and_opens_a_record(page):
    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    page.get_by_role("link", name="Mes patients").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes patients")
    items = page.locator("#patients-list li")
    expect(items.filter(has_text="Camille INVENTÉE")).to_contain_text("Médecin traitant")
    expect(items.filter(has_text="Léo INVENTÉ")).to_contain_text("Né(e) le")
    expect(page.locator("#patients-count")).to_contain_text("patient(s) affiché(s)")
    expect(page.get_by_role("link", name="Mes patients").first).to_have_attribute("aria-current", "page")
    assert_accessible(page, "my patients")
    page.get_by_role("link", name="Camille INVENTÉE").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de Camille INVENTÉE")


def test_a_professional_with_no_patient_sees_how_to_find_one(page):
    ui_login(page, demo.RADIOLOGIST_RPPS, demo.TOTP_SECRETS["radiologist"], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    page.goto("/#/patients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes patients")
    expect(page.locator("#patients-empty")).to_contain_text("Aucun patient")
    assert_accessible(page, "no patients")


def test_card_check_scans_the_qr_code_and_stops_the_camera(server, context, page):
    token = _presentation_token(server)
    context.add_init_script(FAKE_CAMERA)
    ui_login(page, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    # Typing stays available next to the camera.
    expect(page.locator("#presentation-token")).to_be_visible()
    page.get_by_role("button", name="Scanner le QR code avec la caméra").click()
    expect(page.locator("#scan-status")).to_have_text(re.compile("Caméra active"))
    expect(page.locator("#scan-video")).to_be_visible()
    assert page.evaluate("() => window.__constraints.video.facingMode") == "environment"
    assert page.evaluate("() => window.__detectorFormats") == ["qr_code"]
    expect(page.get_by_role("button", name="Arrêter la caméra")).to_be_focused()
    assert_accessible(page, "camera on")

    page.evaluate("(text) => { window.__qrText = text; }", token)
    expect(page.locator("#view")).to_contain_text("Carte vérifiée")
    expect(page.locator("#view")).to_contain_text("INVENTÉE")
    expect(page.locator("#scan-video")).to_be_hidden()
    page.wait_for_function(ALL_TRACKS_ENDED)

    # Stop by hand, then leave the view with the camera on: the stream ends either way.
    page.evaluate("() => { window.__qrText = ''; }")
    page.get_by_role("button", name="Scanner le QR code avec la caméra").click()
    page.get_by_role("button", name="Arrêter la caméra").click()
    expect(page.locator("#scan-status")).to_have_text("Caméra arrêtée.")
    page.wait_for_function(ALL_TRACKS_ENDED)
    page.get_by_role("button", name="Scanner le QR code avec la caméra").click()
    expect(page.locator("#scan-status")).to_have_text(re.compile("Caméra active"))
    page.get_by_role("link", name="Mes patients").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes patients")
    page.wait_for_function(ALL_TRACKS_ENDED)


def test_without_a_qr_decoder_only_typing_is_offered(page):
    ui_login(page, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    has_decoder = page.evaluate("() => 'BarcodeDetector' in window")
    if not has_decoder:
        expect(page.get_by_role("button", name="Scanner le QR code avec la caméra")).to_have_count(0)
    expect(page.locator("#presentation-token")).to_be_visible()
