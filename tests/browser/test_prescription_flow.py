"""Browser: an e-prescription from the GP's form to the citizen's phone and the pharmacy's counter.

Dr MÉDECIN writes it from Camille's patient page with a medication found by search; Camille finds
it under "Ordonnances", shows its QR code full screen and sends it to her pharmacy; Bruno OFFICINE
opens it by its number (typed, or read by the camera) and dispenses part of it; Camille and the GP
(who may see it: the patient said yes) then see what was dispensed, and where. A prescription the
patient kept from the GP says so instead. Every new screen passes axe and fits a 320-390 px phone.

Each test writes its own prescriptions (with a unique word in the instructions) and finds them by
id or number: nothing depends on the order of the tests or on what other tests wrote.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import assert_accessible, ui_login
from tests.browser.test_pro_screens import FAKE_CAMERA
from tests.factories import fresh_totp

WIDTHS = (320, 390)
# Controls less than 44 px high (a checkbox or a radio counts with its label).
SMALL_TARGETS = """() => [...document.querySelectorAll("a[href], button, input, select, textarea, summary")]
  .filter((e) => {
    const target = (["checkbox", "radio"].includes(e.type) && e.labels && e.labels[0]) || e;
    const r = target.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden" && r.height < 44;
  })
  .map((e) => `${e.tagName.toLowerCase()}#${e.id} "${e.textContent.trim().slice(0, 30)}"`)"""
GROUPED_NUMBER = re.compile(r"^[A-Z0-9]{6} [A-Z0-9]{6} [A-Z0-9]{6}$")


@pytest.fixture
def new_context(browser, server):
    """Another browser (a person on their own device), closed after the test."""
    made = []

    def make(**extra):
        ctx = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                                  locale="fr-FR", service_workers="allow", **extra)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def _api(server: str, who: str) -> httpx.Client:
    kind, identifier = {"gp": ("pro", demo.GP_RPPS), "pharmacist": ("pro", demo.PHARMACIST_RPPS),
                        "camille": ("citizen", demo.CAMILLE)}[who]
    client = httpx.Client(base_url=server)
    client.get("/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    r = client.post("/api/auth/login", json={"identifier": identifier, "password": demo.DEMO_PASSWORD,
                                             "kind": kind})
    assert r.status_code == 200, r.text
    r = client.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS[who])})
    assert r.status_code == 200, r.text
    return client


def _checked(page, label: str) -> None:
    """axe finds nothing serious, nothing scrolls sideways at 320-390 px, every target is 44 px high."""
    expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")
    assert_accessible(page, label)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (label, width)
    assert page.evaluate(SMALL_TARGETS) == [], label


def _open_camilles_record(page) -> None:
    page.goto("/#/patients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes patients")
    page.get_by_role("link", name="Camille INVENTÉE").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de Camille INVENTÉE")
    expect(page.locator("#rx-section")).to_be_visible()


def _write(page, token: str, *, consent: bool, non_substitutable: bool = False) -> tuple[str, str]:
    """Fill the GP's form for one medication found by search; returns (prescription id, number)."""
    page.get_by_role("link", name="Rédiger une ordonnance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rédiger une ordonnance")
    page.fill("#rx-line-1-med", "doliprane 1000")
    page.get_by_role("button", name=re.compile(r"^DOLIPRANE 1000 mg, comprimé")).first.click()
    expect(page.locator("#rx-line-1-med-status")).to_contain_text("Choisi : DOLIPRANE 1000 mg")
    page.fill("#rx-line-1-dose", "1")
    page.fill("#rx-line-1-freq", "3")
    page.fill("#rx-line-1-duration", "5")
    page.fill("#rx-line-1-text", f"Au milieu des repas {token}")
    page.fill("#rx-line-1-qty", "2")
    page.fill("#rx-line-1-renewals", "1")
    if non_substitutable:
        expect(page.locator("#rx-line-1-nonsub-reason")).to_be_hidden()
        page.get_by_label("Non substituable").check()
        page.select_option("#rx-line-1-nonsub-reason", "MTE")
    page.check("#rx-consent-yes" if consent else "#rx-consent-no")
    page.get_by_role("button", name="Enregistrer l'ordonnance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    expect(page.locator("#flash")).to_contain_text("enregistrée pour Camille INVENTÉE")
    number = page.locator("#rx-number").inner_text().strip()
    assert GROUPED_NUMBER.match(number), number
    rx_id = page.url.rsplit("/", 1)[-1]
    return rx_id, number


def test_a_prescription_from_the_gp_to_the_pharmacy_and_back(page, new_context):
    token = uuid.uuid4().hex[:10]

    # The GP writes it from Camille's record; the form asks the patient's answer before saving.
    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    _open_camilles_record(page)
    _checked(page, "patient page with prescriptions")
    page.get_by_role("link", name="Rédiger une ordonnance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rédiger une ordonnance")
    page.get_by_role("button", name="Enregistrer l'ordonnance").click()
    summary = page.locator("#prescribe-alert .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choisissez un médicament dans la liste")
    expect(summary).to_contain_text("Indiquez la réponse du patient")
    page.fill("#rx-line-1-med", "doliprane")
    expect(page.locator("#rx-line-1-med-results button").first).to_be_visible()
    _checked(page, "prescription form with search results")
    page.goto("/#/patients")
    _open_camilles_record(page)
    rx_id, number = _write(page, token, consent=True)
    expect(page.locator("#rx-pdf-" + rx_id)).to_have_attribute("href", re.compile(r"^/api/documents/.+/content$"))
    expect(page.locator("#view")).to_contain_text("1 comprimé 3 fois par jour, voie orale, pendant 5 jours.")
    _checked(page, "prescription written")

    # Camille finds it under "Ordonnances" and shows its QR code full screen.
    citizen = new_context().new_page()
    ui_login(citizen, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    citizen.locator('#nav-list a[href="#/prescriptions"]').click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Mes ordonnances")
    item = citizen.locator(f'.rx-item[data-id="{rx_id}"]')
    expect(item).to_contain_text("Alice MÉDECIN")
    expect(item).to_contain_text("À délivrer")
    _checked(citizen, "citizen prescriptions")
    item.locator("a").click()
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    expect(citizen.locator("#view")).to_contain_text(token)
    expect(citizen.locator("#rx-pdf")).to_be_visible()
    _checked(citizen, "citizen prescription")
    opener = citizen.get_by_role("button", name="Afficher le QR code en plein écran")
    opener.click()
    dialog = citizen.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(citizen.locator("#rx-qr-number")).to_have_text(number)
    expect(citizen.locator("#rx-qr-image")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    _checked(citizen, "full-screen QR code")
    citizen.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    citizen.get_by_role("button", name="Fermer").click()
    expect(citizen.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()

    # Bruno OFFICINE types the number and hands over 1 box of the 4 (2 boxes, renewed once).
    counter = new_context().new_page()
    ui_login(counter, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
    expect(counter.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    counter.locator('#nav-list a[href="#/dispense"]').click()
    expect(counter.get_by_role("heading", level=1)).to_have_text("Délivrer une ordonnance")
    _checked(counter, "dispensing: open a prescription")
    counter.fill("#rx-lookup-number", "ZZZZZZZZZZZZZZZZZ" + token[0])
    counter.get_by_role("button", name="Ouvrir l'ordonnance").click()
    expect(counter.locator("#rx-lookup-number-error")).to_contain_text("Aucune ordonnance")
    expect(counter.locator("#rx-lookup-number")).to_be_focused()
    counter.fill("#rx-lookup-number", number.lower())
    counter.get_by_role("button", name="Ouvrir l'ordonnance").click()
    panel = counter.locator("#dispense-rx")
    expect(counter.locator("#dispense-rx-title")).to_be_focused()
    expect(panel).to_contain_text("Camille INVENTÉE")
    expect(panel).to_contain_text("12 mai 1984")
    expect(panel).to_contain_text("Alice MÉDECIN")
    expect(counter.locator("#dispense-0-remaining")).to_have_text("4 boîtes")
    quantity = counter.locator("#dispense-0-qty")
    expect(quantity).to_have_value("2")  # the prescribed quantity, within what remains
    _checked(counter, "dispensing: the prescription")
    quantity.fill("9")
    counter.get_by_role("button", name="Enregistrer la délivrance").click()
    expect(counter.locator("#dispense-alert .error-summary")).to_be_focused()
    expect(counter.locator("#dispense-0-qty-error")).to_contain_text("4")
    quantity.fill("1")
    counter.get_by_role("button", name="Enregistrer la délivrance").click()
    expect(counter.locator("#flash")).to_contain_text("Délivrance enregistrée")
    expect(counter.locator("#dispense-0-remaining")).to_have_text("3 boîtes")
    expect(panel).to_contain_text("Partiellement délivrée")
    expect(panel).to_contain_text("Camille INVENTÉE")
    _checked(counter, "dispensing: recorded")

    # Camille sees the line partly dispensed, by which pharmacy.
    citizen.reload()
    line = citizen.locator(".rx-line").first
    expect(line).to_contain_text("Partiellement délivrée")
    expect(line).to_contain_text("Pharmacie de la Gare")
    expect(line).to_contain_text("1 sur 4")

    # The patient said yes: the GP sees it too, on the prescription and in the record.
    page.reload()
    expect(page.locator(".rx-line").first).to_contain_text("Pharmacie de la Gare")
    expect(page.locator("#rx-summary")).to_contain_text("Partiellement délivrée")
    page.get_by_role("link", name="Dossier de Camille INVENTÉE").click()
    written = page.locator(f'.rx-item[data-id="{rx_id}"]')
    expect(written).to_contain_text("1 délivré(s) sur 4")
    expect(written).to_contain_text("Pharmacie de la Gare")
    expect(written.get_by_role("button", name=re.compile("Annuler l'ordonnance"))).to_have_count(0)

    # Camille sends it to her pharmacy with a note; the screen names the pharmacy.
    citizen.fill("#rx-pharmacy-q", "Gare")
    citizen.get_by_role("button", name="Rechercher une pharmacie").click()
    expect(citizen.locator("#rx-pharmacy-count")).to_contain_text("trouvée")
    citizen.get_by_label("Pharmacie de la Gare").check()
    citizen.fill("#rx-send-note", f"Je passe vers 18 h ({token})")
    _checked(citizen, "send to a pharmacy")
    citizen.get_by_role("button", name="Envoyer l'ordonnance").click()
    done = citizen.locator("#rx-send-success")
    expect(done).to_contain_text("Ordonnance envoyée à Pharmacie de la Gare")
    expect(done).to_be_focused()


def test_the_gp_is_told_when_the_patient_keeps_the_dispensing_private(page, new_context):
    token = uuid.uuid4().hex[:10]
    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    _open_camilles_record(page)
    rx_id, number = _write(page, token, consent=False, non_substitutable=True)
    expect(page.locator("#view")).to_contain_text("Non substituable")
    expect(page.locator(".rx-not-allowed")).to_contain_text("n'a pas autorisé")

    # Bruno OFFICINE reads the QR code with the camera and dispenses the first line in full.
    counter_context = new_context()
    counter_context.add_init_script(FAKE_CAMERA)
    counter = counter_context.new_page()
    ui_login(counter, demo.PHARMACIST_RPPS, demo.TOTP_SECRETS["pharmacist"], pro=True)
    expect(counter.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    counter.goto("/#/dispense")
    expect(counter.get_by_role("heading", level=1)).to_have_text("Délivrer une ordonnance")
    counter.evaluate(f"window.__qrText = {number.replace(' ', '')!r}")
    counter.get_by_role("button", name="Scanner le QR code avec la caméra").click()
    expect(counter.locator("#dispense-rx-title")).to_contain_text(number)
    expect(counter.locator("#dispense-rx")).to_contain_text("Non substituable")
    expect(counter.locator("#dispense-0-substitute")).to_have_count(0)  # the prescriber said no
    counter.fill("#dispense-0-qty", "2")
    counter.get_by_role("button", name="Enregistrer la délivrance").click()
    expect(counter.locator("#flash")).to_contain_text("Délivrance enregistrée")

    # The GP sees that it was dispensed by nobody knows whom: the patient did not allow it.
    page.reload()
    expect(page.locator(".rx-not-allowed")).to_contain_text("n'a pas autorisé")
    expect(page.locator("#view")).not_to_contain_text("Pharmacie de la Gare")
    page.get_by_role("link", name="Dossier de Camille INVENTÉE").click()
    written = page.locator(f'.rx-item[data-id="{rx_id}"]')
    expect(written).to_contain_text("Le patient n'a pas autorisé que vous voyiez ce qui lui est délivré.")
    expect(written).not_to_contain_text("Pharmacie de la Gare")
    _checked(page, "patient page, dispensing kept private")


def test_the_gp_cancels_a_prescription_after_confirming(page, server):
    gp = _api(server, "gp")
    camille = _api(server, "camille")
    person = next(p["id"] for p in camille.get("/api/me").json()["profiles"] if p["relation"] == "self")
    codes = gp.get("/api/prescription-codes").json()  # the lists the forms offer, in both languages
    assert {"10", "40", "50"} == set(codes["prescriber_professions"])
    assert {"code": "OS", "fr": "Rupture de stock", "en": "out of stock"} in codes["substitution_reasons"]
    assert {c["code"] for c in codes["non_substitution_reasons"]} == {"MTE", "EFG", "CIF"}
    cis = gp.get("/api/medications", params={"q": "amoxicilline"}).json()[0]["cis"]
    written = gp.post(f"/api/pro/patients/{person}/prescriptions", json={
        "lines": [{"cis": cis, "dosage": {"dose_value": 1, "dose_unit": "{tbl}", "frequency": 2,
                                          "text": uuid.uuid4().hex}, "quantity": 1}],
        "dispensing_visible": True})
    assert written.status_code == 201, written.text
    rx = written.json()

    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    _open_camilles_record(page)
    item = page.locator(f'.rx-item[data-id="{rx["id"]}"]')
    cancel = item.get_by_role("button", name=re.compile("Annuler l'ordonnance"))
    cancel.click()
    expect(item).to_contain_text("Elle ne pourra plus être délivrée")
    item.get_by_role("button", name="Non, la garder").click()
    expect(cancel).to_be_focused()
    cancel.click()
    item.get_by_role("button", name="Oui, annuler l'ordonnance").click()
    expect(page.locator("#flash")).to_contain_text("annulée")
    expect(page.locator("#rx-written-title")).to_be_focused()
    expect(page.locator(f'.rx-item[data-id="{rx["id"]}"]')).to_contain_text("Annulée")
    shown = camille.get(f"/api/prescriptions/{rx['id']}").json()
    assert shown["status"] == "cancelled" and shown["summary"] == "cancelled"
