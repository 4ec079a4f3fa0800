"""Browser: an e-prescription sent to the pharmacy in a secure message, answered live.

Dr MÉDECIN writes a prescription for Camille (she agrees that the GP sees the dispensing);
Bruno OFFICINE and his colleague Inès COMPTOIR have their pharmacy's shared inbox open;
Camille sends the prescription to "ma pharmacie" with a note, and the conversation appears
in both inboxes without reloading. Bruno opens it, opens the prescription from the message
at the counter, hands over part of it, goes back and answers "Votre commande est prête":
Camille, with the conversation open, sees the answer arrive and Bruno sees it read, both
without reloading. Camille's prescription is then partly dispensed, and the GP sees where;
a prescription the patient kept from the GP shows the GP the sentence saying so instead.
Every screen of the messaging passes axe and fits a 320-390 px phone.

The test writes its own prescriptions (a unique word in the instructions and in the note)
and finds its conversation by the id the citizen's screen links to: nothing depends on the
order of the tests or on what other tests wrote.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import ui_login
from tests.browser.test_prescription_flow import _api, _checked, _open_camilles_record, _write

LIVE = 10_000  # ms: what "without reloading" may take at most


@pytest.fixture
def new_context(browser, server):
    """Another browser (a person on their own device), closed after the test."""
    made = []

    def make():
        ctx = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                                  locale="fr-FR", service_workers="allow")
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def _inbox_open(page, who: str) -> None:
    """Log a pharmacist in and open the messaging from the navigation; the live stream is open."""
    ui_login(page, demo.PRO_LOGINS[who], demo.TOTP_SECRETS[who], pro=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace professionnel")
    page.locator('#nav-list a[href="#/inbox"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messagerie")
    expect(page.locator("#view")).to_contain_text("Pharmacie de la Gare")
    expect(page.locator("html")).to_have_attribute("data-live", "ready")
    page.evaluate("window.__sameDocument = true")  # gone if the page is ever reloaded


def _not_reloaded(page) -> None:
    assert page.evaluate("window.__sameDocument === true")


def test_a_prescription_sent_by_message_is_answered_live(page, new_context, server):
    token = uuid.uuid4().hex[:10]
    note = f"je passe vers 18h ({token})"

    # The GP writes it; the patient agrees that the GP sees what is dispensed.
    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    _open_camilles_record(page)
    rx_id, number = _write(page, token, consent=True)

    # Both pharmacists of Pharmacie de la Gare have their shared inbox open.
    counter = new_context().new_page()
    _inbox_open(counter, "pharmacist")
    _checked(counter, "pharmacist inbox")
    colleague = new_context().new_page()
    _inbox_open(colleague, "pharmacist2")

    # Camille opens the prescription: her pharmacy is offered first, and chosen.
    citizen = new_context().new_page()
    ui_login(citizen, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    expect(citizen.locator("html")).to_have_attribute("data-live", "ready")
    citizen.locator('#nav-list a[href="#/prescriptions"]').click()
    citizen.locator(f'.rx-item[data-id="{rx_id}"] a').click()
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    mine = citizen.get_by_label("Pharmacie de la Gare")
    expect(mine).to_be_checked()
    expect(citizen.locator("#rx-pharmacy-group legend")).to_have_text("Ma pharmacie")
    citizen.fill("#rx-send-note", note)
    citizen.get_by_role("button", name="Envoyer l'ordonnance").click()
    expect(citizen.locator("#rx-send-success")).to_contain_text("Ordonnance envoyée à Pharmacie de la Gare")
    to_thread = citizen.locator("#rx-send-thread")
    expect(to_thread).to_have_attribute("href", re.compile(r"^#/messages/[0-9a-f-]{36}$"))
    thread_id = to_thread.get_attribute("href").rsplit("/", 1)[-1]

    # The conversation appears in both inboxes, unread, and the badge says so in words.
    for pharmacist in (counter, colleague):
        row = pharmacist.locator(f'.thread-item[data-id="{thread_id}"]')
        expect(row).to_be_visible(timeout=LIVE)
        expect(row).to_contain_text("Camille INVENTÉE")
        expect(row).to_contain_text("Boîte partagée de Pharmacie de la Gare")
        expect(row).to_contain_text("1 non lu")
        expect(pharmacist.locator('#nav-list a[href="#/inbox"] .nav-unread')).to_contain_text("non lu")
        _not_reloaded(pharmacist)

    # Camille opens the conversation: her note and the prescription it carries.
    to_thread.click()
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    own = citizen.locator(".message-mine").filter(has_text=token)
    expect(own).to_contain_text(note)
    expect(own.locator(".message-ref")).to_contain_text("Ordonnance du")
    expect(own.get_by_role("link", name=re.compile("Ouvrir l'ordonnance"))).to_have_count(0)
    expect(own.locator(".message-receipt")).to_have_text("Envoyé")
    citizen.evaluate("window.__sameDocument = true")
    _checked(citizen, "citizen conversation")
    # The composer with the documents of the record to join.
    citizen.get_by_role("button", name="Joindre un document de mon dossier").click()
    expect(citizen.locator("#composer-docs")).to_contain_text("Ordonnance - traitement de fond")
    expect(citizen.locator("#composer-photo")).to_have_attribute("capture", "environment")
    expect(citizen.locator("#composer-photo")).to_have_attribute("accept", "image/*,application/pdf")
    citizen.get_by_role("button", name="Envoyer").click()
    summary = citizen.locator("#composer-alert .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Écrivez votre message.")
    citizen.fill("#composer-text", "Merci !")
    expect(citizen.locator("#composer-text-count")).to_have_text(re.compile(r"^7 caractères sur 5\s?000$"))
    citizen.fill("#composer-text", "")
    _checked(citizen, "citizen composer")

    # Bruno opens it: Camille sees her message read, without reloading.
    counter.locator(f'.thread-item[data-id="{thread_id}"] a').click()
    expect(counter.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    expect(counter.locator("#thread-messages")).to_contain_text(note)
    expect(own.locator(".message-receipt")).to_have_text("Lu", timeout=LIVE)
    _not_reloaded(citizen)
    _checked(counter, "pharmacist conversation")

    # The prescription opens at the counter from the message, its number filled in and looked up.
    counter.get_by_role("link", name=re.compile("Ouvrir l'ordonnance")).click()
    expect(counter.get_by_role("heading", level=1)).to_have_text("Délivrer une ordonnance")
    expect(counter.locator("#dispense-rx-title")).to_contain_text(number)
    expect(counter.locator("#dispense-rx-title")).to_be_focused()
    expect(counter.locator("#flash")).to_contain_text("Ordonnance de Camille INVENTÉE ouverte")
    assert "number=" not in counter.url  # the number does not stay in the history
    expect(counter.locator("#dispense-0-remaining")).to_have_text("4 boîtes")
    counter.fill("#dispense-0-qty", "1")
    counter.get_by_role("button", name="Enregistrer la délivrance").click()
    expect(counter.locator("#flash")).to_contain_text("Délivrance enregistrée")
    expect(counter.locator("#dispense-rx")).to_contain_text("Partiellement délivrée")

    # Back to the conversation, the quick answer.
    counter.get_by_role("link", name="Retour à la conversation").click()
    expect(counter.get_by_role("heading", level=1)).to_contain_text("Ordonnance du")
    counter.get_by_role("button", name="Votre commande est prête").click()
    expect(counter.locator("#composer-text")).to_have_value("Votre commande est prête")
    expect(counter.locator("#composer-text")).to_be_focused()
    counter.get_by_role("button", name="Envoyer").click()
    answer = counter.locator(".message-mine").filter(has_text="Votre commande est prête")
    expect(answer).to_have_count(1)
    expect(counter.locator("#composer-text")).to_have_value("")

    # Camille, her conversation open, sees the answer arrive (and it is said), and it is read.
    arrived = citizen.locator(".message-theirs").filter(has_text="Votre commande est prête")
    expect(arrived).to_be_visible(timeout=LIVE)
    expect(arrived).to_contain_text("Bruno OFFICINE")
    expect(citizen.locator("#thread-live")).to_contain_text("Votre commande est prête")
    expect(answer.locator(".message-receipt")).to_have_text("Lu", timeout=LIVE)
    _not_reloaded(citizen)

    # Inès finds the same conversation, with Bruno's answer.
    colleague.locator(f'.thread-item[data-id="{thread_id}"] a').click()
    expect(colleague.locator("#thread-messages")).to_contain_text(note)
    expect(colleague.locator("#thread-messages")).to_contain_text("Votre commande est prête")

    # Bruno closes the conversation after confirming: Camille's composer goes, and she is told.
    counter.get_by_role("button", name="Clore la conversation").click()
    expect(counter.locator("#thread-close-box")).to_contain_text("Personne ne pourra plus y écrire")
    counter.get_by_role("button", name="Non, la laisser ouverte").click()
    expect(counter.get_by_role("button", name="Clore la conversation")).to_be_focused()
    counter.get_by_role("button", name="Clore la conversation").click()
    counter.get_by_role("button", name="Oui, clore la conversation").click()
    expect(counter.locator("#thread-closed")).to_be_focused()
    expect(counter.locator("#thread-composer")).to_be_hidden()
    expect(citizen.locator("#thread-closed")).to_contain_text("close", timeout=LIVE)
    expect(citizen.locator("#thread-composer")).to_be_hidden()
    _not_reloaded(citizen)

    # Camille's prescription is partly dispensed, at her pharmacy.
    citizen.goto(f"/#/prescriptions/{rx_id}")
    expect(citizen.locator("#rx-summary")).to_contain_text("Partiellement délivrée")
    expect(citizen.locator(".rx-line").first).to_contain_text("Pharmacie de la Gare")

    # The patient said yes: the GP sees the dispensing.
    page.reload()
    expect(page.locator("#rx-summary")).to_contain_text("Partiellement délivrée")
    expect(page.locator(".rx-line").first).to_contain_text("Pharmacie de la Gare")

    # A second prescription, which the patient keeps from the GP, dispensed too: the GP is told so.
    page.get_by_role("link", name="Dossier de Camille INVENTÉE").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de Camille INVENTÉE")
    private_id, private_number = _write(page, uuid.uuid4().hex[:10], consent=False)
    pharmacy = _api(server, "pharmacist")
    rx = pharmacy.post("/api/pro/prescriptions/lookup", json={"number": private_number.replace(" ", "")})
    assert rx.status_code == 200, rx.text
    line = rx.json()["lines"][0]
    done = pharmacy.post(f"/api/pro/prescriptions/{private_id}/dispense",
                         json={"lines": [{"line_id": line["id"], "quantity": 1, "expected_dispensed": 0}]})
    assert done.status_code == 200, done.text
    page.reload()
    expect(page.locator(".rx-not-allowed")).to_contain_text("Le patient n'a pas autorisé")
    expect(page.locator("#view")).not_to_contain_text("Pharmacie de la Gare")


def test_a_parent_chooses_a_pharmacy_for_a_child_and_writes_to_it(page):
    token = uuid.uuid4().hex[:10]
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.locator('#nav-list a[href="#/messages"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messagerie")
    expect(page.locator("#msg-pharmacy")).to_contain_text("Pharmacie de la Gare")  # Camille's own
    _checked(page, "citizen inbox")

    # Léo's messages: his own "ma pharmacie", found by a search.
    child = page.locator("#profile-select option", has_text="Léo").get_attribute("value")
    page.select_option("#profile-select", value=child)
    expect(page.get_by_role("heading", level=1)).to_have_text("Messagerie de Léo INVENTÉ")
    page.locator("#msg-pharmacy-change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pharmacie de Léo INVENTÉ")
    page.get_by_role("button", name="Enregistrer comme ma pharmacie").click()
    expect(page.locator("#pharmacy-alert .error-summary")).to_be_focused()
    page.fill("#my-q", "Lyon")
    page.get_by_role("button", name="Rechercher une pharmacie").click()
    expect(page.locator("#my-found")).to_contain_text("trouvée")
    page.get_by_label("Pharmacie Saint-Jean").check()
    _checked(page, "choosing ma pharmacie")
    page.get_by_role("button", name="Enregistrer comme ma pharmacie").click()
    expect(page.locator("#flash")).to_contain_text("Pharmacie Saint-Jean est maintenant votre pharmacie")
    expect(page.locator("#msg-pharmacy")).to_contain_text("Pharmacie Saint-Jean")

    # A new message: that pharmacy is offered first; nothing is sent without a text.
    page.get_by_role("link", name="Nouveau message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau message pour Léo INVENTÉ")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.get_by_label(re.compile("^Pharmacie Saint-Jean"))).to_be_checked()
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#new-alert .error-summary")).to_be_focused()
    expect(page.locator("#new-text-error")).to_have_text("Écrivez votre message.")
    page.fill("#new-subject", f"Question {token}")
    page.fill("#new-text", f"Avez-vous du paracétamol en sirop pour Léo ? {token}")
    expect(page.locator("#new-text-count")).to_have_text(re.compile(r"^55 caractères sur 5\s?000$"))
    page.get_by_role("button", name="Joindre un document de mon dossier").click()
    page.get_by_label("Consultation pédiatrique").check()
    expect(page.locator("#new-chosen")).to_contain_text("1 document du dossier joint")
    _checked(page, "new message")
    page.get_by_role("button", name="Envoyer").click()

    # The conversation: written by Camille for Léo, with the copied document.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Question {token}")
    expect(page.locator("#flash")).to_contain_text("Message envoyé à Pharmacie Saint-Jean")
    sent = page.locator(".message-mine").filter(has_text=token)
    expect(sent.locator(".message-author")).to_have_text("Camille INVENTÉE pour Léo INVENTÉ")
    expect(sent.locator(".message-files")).to_contain_text("consultation-pediatrique.pdf")
    expect(sent.get_by_role("link", name=re.compile("^Télécharger"))).to_have_attribute(
        "href", re.compile(r"^/api/messaging/attachments/[0-9a-f-]{36}\?download=true$"))
    expect(page.locator("#view")).to_contain_text("Léo INVENTÉ")
    _checked(page, "conversation with an attachment")

    # Back in the inbox; then Léo's preferred pharmacy is forgotten again, after confirming.
    page.locator("#thread-back").click()
    expect(page.locator(".thread-item").filter(has_text=token)).to_contain_text("Pharmacie Saint-Jean")
    page.locator("#msg-pharmacy-change").click()
    page.get_by_role("button", name="Ne plus avoir de pharmacie préférée").click()
    page.get_by_role("button", name="Oui, l'oublier").click()
    expect(page.locator("#flash")).to_contain_text("Vous n'avez plus de pharmacie préférée")
    expect(page.locator("#msg-pharmacy-none")).to_be_visible()


def test_a_doctor_writes_to_a_patient_from_the_record(page, server):
    token = uuid.uuid4().hex[:10]
    ui_login(page, demo.GP_RPPS, demo.TOTP_SECRETS["gp"], pro=True)
    _open_camilles_record(page)
    page.fill("#write-subject", f"Vos résultats {token}")
    page.get_by_role("button", name="Envoyer le message").click()
    expect(page.locator("#write-text")).to_be_focused()
    expect(page.locator("#write-text-error")).to_have_text("Écrivez votre message.")
    page.fill("#write-text", f"Vos résultats sont normaux. {token}")
    page.get_by_role("button", name="Envoyer le message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Vos résultats {token}")
    expect(page.locator("#flash")).to_contain_text("Message envoyé à Camille INVENTÉE")
    expect(page.locator('#nav-list a[href="#/inbox"]')).to_have_attribute("aria-current", "page")
    expect(page.locator(".message-mine")).to_contain_text(token)
    expect(page.locator("#composer-quick-ready")).to_have_count(0)  # the pharmacy's quick answer
    _checked(page, "doctor's conversation")

    camille = _api(server, "camille")
    person = next(p["id"] for p in camille.get("/api/me").json()["profiles"] if p["relation"] == "self")
    inbox = camille.get(f"/api/profiles/{person}/threads").json()["items"]
    [thread] = [t for t in inbox if t["subject"] == f"Vos résultats {token}"]
    assert thread["counterpart"]["kind"] == "professional" and thread["unread"] == 1


def test_the_more_menu_holds_access_and_security(page):
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    more = page.get_by_role("button", name="Plus", exact=True)
    expect(more).to_have_attribute("aria-expanded", "false")
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#nav-more")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#nav-more")).to_be_hidden()
    expect(more).to_be_focused()
    more.click()
    page.locator("#nav-more").get_by_role("link", name="Sécurité").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sécurité")
    expect(page.get_by_role("button", name="Plus", exact=True)).to_have_attribute("aria-current", "true")
    page.get_by_role("button", name="Plus", exact=True).click()
    expect(page.locator("#nav-more").get_by_role("link", name="Sécurité")).to_have_attribute("aria-current", "page")
    page.locator("#main").click(position={"x": 5, "y": 5})
    expect(page.locator("#nav-more")).to_be_hidden()
