"""The e-prescription: written by the GP, carried by the citizen, opened and dispensed by pharmacists."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from uuid import UUID

import pyotp

from backend import demo
from backend.accounts.services import open_pro_account
from backend.core import database
from backend.core.auth import Actor
from backend.core.errors import Conflict
from backend.prescriptions import reference, services
from backend.professionals.directory import import_directory
from tests.conftest import Api
from tests.factories import fresh_rpps, fresh_totp, login_demo

PROBLEM = "application/problem+json"
SEEDED = len(demo.DEMO_PRESCRIPTIONS)  # Camille's prescriptions in the demo world


def cis(query: str) -> str:
    found = reference.search_medications(query)
    assert found, query
    return found[0]["cis"]


def line(query: str = "paracetamol", **over) -> dict:
    return {"cis": cis(query), "dosage": {"dose_value": 1, "dose_unit": "comprimé", "frequency": 3,
                                         "period": 1, "period_unit": "d", "route": "oral", "duration_days": 5,
                                         "text": "Au milieu des repas."},
            "quantity": 2, "renewals": 1, **over}


def me(citizen) -> str:
    return next(p["id"] for p in citizen.get("/api/me").json()["profiles"] if p["relation"] == "self")


def write(gp, person: str, *lines: dict, consent: bool = True, status: int = 201) -> dict:
    r = gp.post(f"/api/pro/patients/{person}/prescriptions",
                json={"lines": list(lines) or [line()], "dispensing_visible": consent})
    assert r.status_code == status, r.text
    return r.json()


def lookup(pharmacist, number: str, status: int = 200) -> dict:
    r = pharmacist.post("/api/pro/prescriptions/lookup", json={"number": number})
    assert r.status_code == status, r.text
    return r.json()


def dispense(pharmacist, prescription: dict, quantity: int, *, index: int = 0, status: int = 200, **extra) -> dict:
    target = prescription["lines"][index]
    r = pharmacist.post(f"/api/pro/prescriptions/{prescription['id']}/dispense", json={"lines": [{
        "line_id": target["id"], "quantity": quantity, "expected_dispensed": target["dispensed"], **extra}]})
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


def history(citizen, person: str) -> list[dict]:
    return citizen.get(f"/api/profiles/{person}/access-history", params={"limit": 100}).json()["items"]


def other_pharmacy(main_client, run, settings) -> tuple[Api, Actor]:
    """A pharmacist of another pharmacy, logged in."""
    rpps = fresh_rpps()
    [row] = run(import_directory, settings, [{
        "rpps": rpps, "last_name": "AUTREOFFICINE", "first_name": "Test", "profession_code": "21",
        "structure_name": "Pharmacie du Port", "finess": demo.finess("13000501"), "structure_kind": "pharmacy",
        "address": "1 quai du Port", "postcode": "13002", "commune": "Marseille"}], open_pro_account)
    assert row.status == "created", row
    secret = pyotp.random_base32()
    run(demo._credentials, settings, "pro", rpps, secret)
    api = Api(main_client)
    api.post("/api/auth/login", json={"identifier": rpps, "password": demo.DEMO_PASSWORD, "kind": "pro"})
    assert api.post("/api/auth/login/totp", json={"code": fresh_totp(secret)}).status_code == 200
    return api, row.person_id


def test_the_gp_writes_and_the_citizen_carries_it(demo_apis):
    gp, camille = demo_apis["gp"], demo_apis["camille"]
    person = me(camille)
    written = write(gp, person, line(), line("amoxicilline", quantity=1, renewals=0))
    assert re.fullmatch(r"[A-Z0-9]{18}", written["number"])
    assert [ln["status"] for ln in written["lines"]] == ["to_dispense", "to_dispense"]
    assert written["lines"][0]["limit"] == 4 and written["lines"][0]["dosage_text"]
    # Its printable copy is in her record, as a prescription document.
    doc = camille.get(f"/api/documents/{written['document_id']}").json()
    assert doc["type_code"] == "57833-6" and doc["media_type"] == "application/pdf"
    pdf = camille.get(f"/api/documents/{written['document_id']}/content")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # She sees it with a status per line and its QR code.
    listed = camille.get(f"/api/profiles/{person}/prescriptions").json()
    assert written["id"] in [p["id"] for p in listed["items"]]
    shown = camille.get(f"/api/prescriptions/{written['id']}").json()
    assert shown["number"] == written["number"] and shown["qr"].startswith("data:image/svg+xml;base64,")
    assert shown["summary"] == "to_dispense"
    # Numbers are random: two prescriptions share no prefix pattern and are never sequential.
    second = write(gp, person)
    assert second["number"] != written["number"]
    events = {e["resource"]: e for e in history(camille, person) if e["action"] == "prescription.create"}
    assert events[written["id"]]["outcome"] == events[second["id"]]["outcome"] == "allowed"


def test_the_pharmacist_opens_it_by_number_and_dispenses_line_by_line(demo_apis):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    person = me(camille)
    written = write(gp, person)
    spaced = " ".join(written["number"][i:i + 6] for i in range(0, 18, 6)).lower()
    opened = lookup(pharmacist, spaced)
    assert opened["id"] == written["id"] and opened["patient"]["first_name"] == "Camille"
    after = dispense(pharmacist, opened, 1)
    assert after["lines"][0]["status"] == "partly_dispensed" and after["lines"][0]["dispensed"] == 1
    # The pharmacy now reaches it by id too; the reads are in her access history.
    again = pharmacist.get(f"/api/pro/prescriptions/{written['id']}").json()
    assert again["lines"][0]["dispenses"][0]["quantity"] == 1
    actions = [e["action"] for e in history(camille, person) if e["actor_kind"] == "pro"]
    assert actions.count("prescription.read") >= 2 and "prescription.dispense" in actions
    # The citizen sees the status and who dispensed.
    mine = camille.get(f"/api/prescriptions/{written['id']}").json()
    assert mine["lines"][0]["status"] == "partly_dispensed"
    assert mine["lines"][0]["dispenses"][0]["pharmacy"]
    # The rest of the line, renewals included, and not one box more.
    done = dispense(pharmacist, mine, 3)
    assert done["lines"][0]["status"] == "dispensed" and done["summary"] == "dispensed"
    over = dispense(pharmacist, done, 1, status=422)
    assert over["errors"][0]["field"] == "lines[0].line_id"


def test_dispensing_beyond_the_prescribed_quantity_is_refused_and_changes_nothing(demo_apis):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    written = write(gp, me(camille))
    opened = lookup(pharmacist, written["number"])
    problem = dispense(pharmacist, opened, 5, status=422)  # 2 boxes × (1 + 1 renewal) = 4
    assert problem["errors"][0]["field"] == "lines[0].quantity" and "4" in problem["detail"]
    assert pharmacist.get(f"/api/pro/prescriptions/{written['id']}").json()["lines"][0]["dispensed"] == 0
    for bad in (0, -1, 1000):
        r = pharmacist.post(f"/api/pro/prescriptions/{written['id']}/dispense", json={"lines": [{
            "line_id": opened["lines"][0]["id"], "quantity": bad, "expected_dispensed": 0}]})
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM), bad


def test_a_stale_read_gets_a_clear_409(demo_apis):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    written = write(gp, me(camille))
    opened = lookup(pharmacist, written["number"])
    dispense(pharmacist, opened, 1)
    stale = dispense(pharmacist, opened, 1, status=409)  # it still says 0 were dispensed
    assert "autre pharmacie" in stale["detail"]


def test_two_pharmacies_dispensing_the_same_line_at_once_one_wins(demo_apis, main_client, run, settings):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    written = write(gp, me(camille))
    other_api, other_id = other_pharmacy(main_client, run, settings)
    lookup(pharmacist, written["number"])
    opened = lookup(other_api, written["number"])
    bruno = run(database.fetch, "SELECT a.id, a.professional FROM account a JOIN professional p "
                                "ON p.id = a.professional WHERE p.rpps = {}", demo.PHARMACIST_RPPS)[0]
    other = run(database.fetch, "SELECT id FROM account WHERE professional = {}", other_id)[0]
    actors = [Actor(account_id=bruno["id"], kind="pro", session_id="s1", stage="full",
                    professional_id=bruno["professional"]),
              Actor(account_id=other["id"], kind="pro", session_id="s2", stage="full", professional_id=other_id)]
    item = {"line_id": opened["lines"][0]["id"], "quantity": 3, "expected_dispensed": 0}

    async def both():
        return await asyncio.gather(*(services.dispense(a, written["id"], [dict(item)]) for a in actors),
                                    return_exceptions=True)

    results = run(both)
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].status_code == 409
    final = pharmacist.get(f"/api/pro/prescriptions/{written['id']}").json()
    assert final["lines"][0]["dispensed"] == 3 and len(final["lines"][0]["dispenses"]) == 1


def test_the_gp_sees_the_dispensing_only_when_the_patient_said_yes(demo_apis):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    person = me(camille)
    yes, no = write(gp, person, consent=True), write(gp, person, consent=False)
    for p in (yes, no):
        dispense(pharmacist, lookup(pharmacist, p["number"]), 1)
    seen_yes = gp.get(f"/api/pro/prescriptions/{yes['id']}").json()
    seen_no = gp.get(f"/api/pro/prescriptions/{no['id']}").json()
    assert seen_yes["lines"][0]["dispensed"] == 1 and seen_yes["lines"][0]["dispenses"]
    assert seen_no["lines"][0]["dispensed"] is None and seen_no["lines"][0]["dispenses"] == []
    assert seen_no["lines"][0]["status"] is None and seen_no["summary"] is None
    listed = {p["id"]: p for p in gp.get(f"/api/pro/patients/{person}/prescriptions").json()}
    assert listed[no["id"]]["lines"][0]["dispenses"] == [] and listed[yes["id"]]["lines"][0]["dispenses"]


def test_a_guessed_number_is_404_then_rate_limited(demo_apis):
    pharmacist = demo_apis["pharmacist"]
    statuses = []
    for _ in range(25):
        r = pharmacist.post("/api/pro/prescriptions/lookup", json={"number": "ZZZZZZZZZZZZZZZZZ1"})
        assert r.headers["content-type"].startswith(PROBLEM)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[0] == 404 and statuses[-1] == 429
    for malformed in ("1234", "!" * 18):
        r = demo_apis["gp"].post("/api/pro/prescriptions/lookup", json={"number": malformed})
        assert r.status_code == 403  # only pharmacists open prescriptions by number


def test_bad_prescriptions_get_clear_problems(demo_apis):
    gp, person = demo_apis["gp"], me(demo_apis["camille"])
    problem = write(gp, person, line() | {"cis": "99999999"}, status=422)
    assert problem["errors"][0]["field"] == "lines[0].cis" and "99999999" in problem["detail"]
    problem = write(gp, person, line(non_substitutable=True), status=422)
    assert problem["errors"][0]["field"] == "lines[0].non_substitution_reason"
    for bad in ({"quantity": 0}, {"quantity": 500}, {"renewals": -1}, {"cis": "12AB"}):
        r = gp.post(f"/api/pro/patients/{person}/prescriptions",
                    json={"lines": [line() | bad], "dispensing_visible": True})
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM), bad
    r = gp.post(f"/api/pro/patients/{person}/prescriptions",
                json={"lines": [line()], "dispensing_visible": True, "colour": "blue"})
    assert r.status_code == 400
    assert demo_apis["camille"].get(f"/api/profiles/{person}/prescriptions").json()["total"] == SEEDED
    ok = write(gp, person, line(non_substitutable=True, non_substitution_reason="MTE"),
               {"label": "amoxicilline 1 g", "dosage": line()["dosage"], "quantity": 1})
    assert ok["lines"][0]["non_substitution_reason"] == "MTE" and ok["lines"][1]["cis"] is None


def test_only_prescribers_with_a_basis_write(demo_apis, main_client, run, settings):
    pharmacist, camille = demo_apis["pharmacist"], demo_apis["camille"]
    person = me(camille)
    r = pharmacist.post(f"/api/pro/patients/{person}/prescriptions",
                        json={"lines": [line()], "dispensing_visible": True})
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    from tests.docworld import make_pro

    stranger = make_pro(main_client, run, settings, "10", "SANSLIEN")
    r = stranger.api.post(f"/api/pro/patients/{person}/prescriptions",
                          json={"lines": [line()], "dispensing_visible": True})
    assert r.status_code == 404
    refused = [e for e in history(camille, person) if e["action"] == "prescription.create"]
    assert refused and refused[0]["outcome"] == "refused"
    assert camille.get(f"/api/profiles/{person}/prescriptions").json()["total"] == SEEDED


def test_cancelled_and_expired_prescriptions_are_not_dispensed(demo_apis, run):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    person = me(camille)
    cancelled = write(gp, person)
    r = gp.post(f"/api/pro/prescriptions/{cancelled['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert camille.get(f"/api/prescriptions/{cancelled['id']}").json()["summary"] == "cancelled"
    problem = dispense(pharmacist, lookup(pharmacist, cancelled["number"]), 1, status=422)
    assert "annulée" in problem["detail"]
    # Once part of it was dispensed, it can no longer be cancelled.
    started = write(gp, person)
    dispense(pharmacist, lookup(pharmacist, started["number"]), 1)
    r = gp.post(f"/api/pro/prescriptions/{started['id']}/cancel")
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    # Past its first-dispensing deadline, nothing is dispensed any more.
    old = write(gp, person)
    run(database.execute, "UPDATE prescription SET first_dispense_by = {} WHERE id = {}",
        date(2020, 1, 1), UUID(old["id"]))
    problem = dispense(pharmacist, lookup(pharmacist, old["number"]), 1, status=422)
    assert "validité" in problem["detail"]
    assert camille.get(f"/api/prescriptions/{old['id']}").json()["lines"][0]["status"] == "expired"


def test_a_blocked_pharmacist_is_refused_and_it_is_recorded(demo_apis):
    gp, camille, pharmacist = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    person = me(camille)
    written = write(gp, person)
    r = camille.post(f"/api/profiles/{person}/blocks", json={"rpps": demo.PHARMACIST_RPPS})
    assert r.status_code == 204, r.text
    lookup(pharmacist, written["number"], status=404)
    refused = [e for e in history(camille, person) if e["action"] == "prescription.read"]
    assert refused and refused[0]["outcome"] == "refused"


def test_ma_pharmacie_is_a_pharmacy_the_citizen_side_chooses(demo_apis):
    camille, dominique = demo_apis["camille"], demo_apis["dominique"]
    person = me(camille)
    seeded = camille.get(f"/api/profiles/{person}/my-pharmacy").json()["pharmacy"]
    assert seeded["name"] == "Pharmacie de la Gare"
    found = camille.get("/api/pharmacies", params={"q": "eglise saint etienne"}).json()["items"]
    chosen = camille.post(f"/api/profiles/{person}/my-pharmacy", json={"structure_id": found[0]["id"]})
    assert chosen.status_code == 200 and chosen.json()["pharmacy"]["commune"] == "Saint-Étienne"
    assert camille.get(f"/api/profiles/{person}/my-pharmacy").json()["pharmacy"]["id"] == found[0]["id"]
    practice = demo_apis["gp"].get("/api/pro/me").json()["structure"]["id"]
    r = camille.post(f"/api/profiles/{person}/my-pharmacy", json={"structure_id": practice})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "structure_id"
    # A caregiver who may only present the card cannot see or change it.
    assert dominique.get(f"/api/profiles/{person}/my-pharmacy").status_code == 404
    r = dominique.post(f"/api/profiles/{person}/my-pharmacy", json={"structure_id": None})
    assert r.status_code == 404
    assert camille.post(f"/api/profiles/{person}/my-pharmacy", json={"structure_id": None}).json() == {
        "pharmacy": None}


def test_the_citizen_sends_it_to_her_pharmacy_and_both_pharmacists_see_it(demo_apis, make_api):
    gp, camille, bruno = demo_apis["gp"], demo_apis["camille"], demo_apis["pharmacist"]
    ines = login_demo(make_api, "pharmacist2")
    person = me(camille)
    written = write(gp, person)
    pharmacy = camille.get(f"/api/profiles/{person}/my-pharmacy").json()["pharmacy"]
    r = camille.post(f"/api/prescriptions/{written['id']}/send",
                     json={"structure_id": pharmacy["id"], "note": "Je passe vers 18h."})
    assert r.status_code == 200, r.text
    thread = r.json()
    assert thread["counterpart"]["name"] == "Pharmacie de la Gare"
    [message] = thread["messages"]
    assert message["text"] == "Je passe vers 18h."
    assert message["references"] == [{"kind": "prescription", "ref": written["number"],
                                      "title": message["references"][0]["title"]}]
    # The shared inbox: Inès sees it, opens the prescription from the message, without typing.
    inbox = ines.get("/api/pro/threads").json()["items"]
    assert any(t["id"] == thread["id"] and t["unread"] == 1 for t in inbox)
    opened = ines.get(f"/api/pro/prescriptions/{written['id']}")
    assert opened.status_code == 200 and opened.json()["patient"]["first_name"] == "Camille"
    dispense(ines, opened.json(), 1)
    # Bruno answers "ready"; Camille reads it and sees the partial dispensing.
    r = bruno.post(f"/api/threads/{thread['id']}/messages", json={"text": "Votre commande est prête."})
    assert r.status_code == 201, r.text
    seen = camille.get(f"/api/threads/{thread['id']}").json()
    assert seen["messages"][0]["text"] == "Votre commande est prête." and seen["unread"] == 1
    mine = camille.get(f"/api/prescriptions/{written['id']}").json()
    assert mine["lines"][0]["status"] == "partly_dispensed"
    # Only a pharmacy: the GP's practice is refused with a clear problem, and nothing is opened.
    practice = gp.get("/api/pro/me").json()["structure"]["id"]
    other = write(gp, person)
    r = camille.post(f"/api/prescriptions/{other['id']}/send", json={"structure_id": practice})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert bruno.get(f"/api/pro/prescriptions/{other['id']}").status_code == 404


def test_a_pharmacist_reading_a_conversation_is_not_told_as_a_first_look_into_the_record(demo_apis, make_api):
    camille, person = demo_apis["camille"], me(demo_apis["camille"])
    ines = login_demo(make_api, "pharmacist2")
    [thread] = ines.get("/api/pro/threads").json()["items"]  # Camille's, from the demo world
    assert ines.get(f"/api/threads/{thread['id']}").status_code == 200
    notes = camille.get(f"/api/profiles/{person}/notifications").json()
    assert not [n for n in notes if "COMPTOIR" in n["text_fr"]]
    # Opening the prescription it carries is a read of the record: that one is told.
    number = next(m["references"][0]["ref"] for m in ines.get(f"/api/threads/{thread['id']}").json()["messages"]
                  if m["references"])
    lookup(ines, number)
    notes = camille.get(f"/api/profiles/{person}/notifications").json()
    assert [n for n in notes if "COMPTOIR" in n["text_fr"] and "première fois" in n["text_fr"]]
