"""The card, profiles, presentation QR tokens and card delegation, with refused actors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from backend import demo
from backend.access.tables import AccessEvent
from backend.card import services as card
from backend.core.auth import Actor
from backend.identity.tables import InsuredPerson
from tests.factories import activated_citizen, login_demo, reauthenticate


def _person_id(run, nir):
    return run(lambda: InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == nir).first())["id"]


def test_citizen_sees_card_with_ins_insurance_and_beneficiaries(demo_apis, run, settings):
    camille = demo_apis["camille"]
    me = camille.get("/api/me").json()
    relations = sorted(p["relation"] for p in me["profiles"])
    assert relations == ["parent", "parent", "self"]
    self_id = next(p["id"] for p in me["profiles"] if p["relation"] == "self")
    c = camille.get(f"/api/profiles/{self_id}/card").json()
    assert c["nir"] == demo.CAMILLE
    assert c["nir_masked"].startswith("2 84 05") and demo.CAMILLE[5:] not in c["nir_masked"].replace(" ", "")
    assert c["ins"] == {"value": demo.CAMILLE, "oid": "1.2.250.1.213.1.4.11",
                        "identity_status": "QUAL", "usable": True}
    assert c["amo"]["caisse"] == "CPAM de Paris" and c["amo"]["rights_active"] is True
    assert c["amc"]["organisation"] == "Mutuelle Exemple"
    assert [b["first_name"] for b in c["beneficiaries"]] == ["Léo", "Jeanne"]


def test_parent_switches_to_child_card(demo_apis, run):
    camille = demo_apis["camille"]
    child = next(p for p in camille.get("/api/me").json()["profiles"] if p["relation"] == "parent")
    c = camille.get(f"/api/profiles/{child['id']}/card")
    assert c.status_code == 200 and c.json()["relation"] == "parent"


def test_another_citizen_card_answers_404(demo_apis, make_api, run, settings):
    stranger = activated_citizen(make_api, run, settings)
    camille_id = _person_id(run, demo.CAMILLE)
    r = stranger.api.get(f"/api/profiles/{camille_id}/card")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # ...and the same for an id that does not exist at all.
    assert stranger.api.get("/api/profiles/00000000-0000-4000-8000-000000000000/card").status_code == 404
    assert stranger.api.post(f"/api/profiles/{camille_id}/presentations").status_code == 404


def test_ins_not_usable_unless_qualified(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings, identity_status="VALI")
    c = citizen.api.get(f"/api/profiles/{citizen.person_id}/card").json()
    assert c["ins"]["usable"] is False and c["ins"]["identity_status"] == "VALI"


def test_presentation_token_verified_once_by_a_professional(demo_apis, run):
    camille, pharmacist = demo_apis["camille"], demo_apis["pharmacist"]
    camille_id = _person_id(run, demo.CAMILLE)
    p = camille.post(f"/api/profiles/{camille_id}/presentations")
    assert p.status_code == 201
    body = p.json()
    assert body["qr"].startswith("data:image/svg+xml;base64,")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=60) < expires - datetime.now(UTC) <= timedelta(seconds=121)
    v = pharmacist.post("/api/pro/presentations/verify", json={"token": body["token"]})
    assert v.status_code == 200, v.text
    assert v.json()["identity"]["birth_name"] == "INVENTÉE"
    assert v.json()["ins"]["value"] == demo.CAMILLE
    assert v.json()["amo"]["rights_active"] is True
    replay = pharmacist.post("/api/pro/presentations/verify", json={"token": body["token"]})
    assert replay.status_code == 422
    assert "déjà utilisé" in replay.json()["detail"]
    events = run(lambda: AccessEvent.select(AccessEvent.action, AccessEvent.outcome).where(
        AccessEvent.person == camille_id).order_by(AccessEvent.id))
    assert {"action": "card.verify", "outcome": "allowed"} in events
    assert {"action": "card.verify", "outcome": "refused"} in events
    history = camille.get(f"/api/profiles/{camille_id}/access-history").json()["items"]
    assert any(e["actor_label"].startswith("Bruno OFFICINE") for e in history)


def test_expired_and_forged_presentation_tokens_are_refused(demo_apis, run, settings):
    camille_id = _person_id(run, demo.CAMILLE)
    actor = Actor(account_id=camille_id, kind="citizen", session_id="x", stage="active",
                  person_id=camille_id)
    expired = run(card.present, dataclasses.replace(settings, presentation_seconds=-5), actor, camille_id)
    r = demo_apis["gp"].post("/api/pro/presentations/verify", json={"token": expired["token"]})
    assert r.status_code == 422 and r.json()["detail"] == "Jeton expiré."
    good = demo_apis["camille"].post(f"/api/profiles/{camille_id}/presentations").json()["token"]
    head, payload, sig = good.split(".")
    forged = f"{head}.{payload}.{sig[::-1]}"
    r = demo_apis["gp"].post("/api/pro/presentations/verify", json={"token": forged})
    assert r.status_code == 422 and "falsifié" in r.json()["detail"]
    r = demo_apis["gp"].post("/api/pro/presentations/verify", json={"token": "not-a-token"})
    assert r.status_code == 422


def test_citizen_cannot_use_the_professional_verify_endpoint(demo_apis):
    r = demo_apis["dominique"].post("/api/pro/presentations/verify", json={"token": "a.b.c"})
    assert r.status_code == 403


def test_delegate_presents_card_until_revoked(make_api, run, settings):
    owner = activated_citizen(make_api, run, settings)
    trusted = activated_citizen(make_api, run, settings, _sex="1")
    pharmacist = login_demo(make_api, "pharmacist")
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    d = owner.api.post(f"/api/profiles/{owner.person_id}/delegations",
                       json={"label": "Mon frère", "scopes": ["present_card"], "ends_at": ends})
    assert d.status_code == 201, d.text
    code = d.json()["invitation_code"]
    # Before acceptance the trusted person has nothing.
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/card").status_code == 404
    a = trusted.api.post("/api/delegations/accept", json={"code": code})
    assert a.status_code == 200, a.text
    assert trusted.api.post("/api/delegations/accept", json={"code": code}).status_code == 422
    profiles = trusted.api.get("/api/me").json()["profiles"]
    assert any(p["id"] == owner.person_id and p["relation"] == "delegate" for p in profiles)
    card_view = trusted.api.get(f"/api/profiles/{owner.person_id}/card").json()
    assert card_view["relation"] == "delegate" and card_view["beneficiaries"] == []
    token = trusted.api.post(f"/api/profiles/{owner.person_id}/presentations").json()["token"]
    pending = trusted.api.post(f"/api/profiles/{owner.person_id}/presentations").json()["token"]
    v = pharmacist.post("/api/pro/presentations/verify", json={"token": token})
    assert v.status_code == 200 and v.json()["presented_by_delegate"] is True
    # The delegate cannot manage the owner's delegations or read their history.
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/delegations").status_code == 404
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/access-history").status_code == 404

    assert owner.api.delete(f"/api/delegations/{d.json()['id']}").status_code == 204
    # Revocation applies on the very next request, and to tokens already issued.
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/card").status_code == 404
    assert trusted.api.post(f"/api/profiles/{owner.person_id}/presentations").status_code == 404
    r = pharmacist.post("/api/pro/presentations/verify", json={"token": pending})
    assert r.status_code == 422 and "révoquée" in r.json()["detail"]
    states = [x["state"] for x in owner.api.get(f"/api/profiles/{owner.person_id}/delegations").json()]
    assert states == ["revoked"]
    history = owner.api.get(f"/api/profiles/{owner.person_id}/access-history").json()["items"]
    assert {e["action"] for e in history} >= {"delegation.accept", "card.read", "card.present",
                                               "card.verify"}


def test_expired_delegation_is_refused(make_api, run, settings):
    from backend.access.tables import Delegation
    from backend.core.auth import utcnow

    owner = activated_citizen(make_api, run, settings)
    trusted = activated_citizen(make_api, run, settings)
    ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    d = owner.api.post(f"/api/profiles/{owner.person_id}/delegations",
                       json={"label": "Voisine", "scopes": ["present_card"], "ends_at": ends}).json()
    trusted.api.post("/api/delegations/accept", json={"code": d["invitation_code"]})
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/card").status_code == 200
    run(lambda: Delegation.update({Delegation.ends_at: utcnow() - timedelta(seconds=1)}).where(
        Delegation.id == d["id"]))
    assert trusted.api.get(f"/api/profiles/{owner.person_id}/card").status_code == 404


def test_delegation_input_is_validated(make_api, run, settings):
    owner = activated_citizen(make_api, run, settings)
    url = f"/api/profiles/{owner.person_id}/delegations"
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = owner.api.post(url, json={"label": "X", "scopes": ["read_everything"], "ends_at": future})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scopes[0]"
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    r = owner.api.post(url, json={"label": "X", "scopes": ["present_card"], "ends_at": past})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ends_at"
    r = owner.api.post(url, json={"label": "X", "scopes": ["present_card"], "ends_at": future,
                                  "admin": True})
    assert r.status_code == 400 and "admin" in r.json()["detail"]


def test_parent_cannot_delegate_or_read_history_of_another_family(demo_apis, make_api, run, settings):
    other_parent = activated_citizen(make_api, run, settings)
    leo = _person_id(run, demo.LEO)
    assert other_parent.api.get(f"/api/profiles/{leo}/card").status_code == 404
    assert other_parent.api.get(f"/api/profiles/{leo}/access-history").status_code == 404
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    reauthenticate(demo_apis["camille"], demo.TOTP_SECRETS["camille"])
    r = demo_apis["camille"].post(f"/api/profiles/{leo}/delegations",
                                  json={"label": "X", "scopes": ["present_card"], "ends_at": future})
    assert r.status_code == 404


def test_card_in_english(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    en = make_api("en")
    r = en.get(f"/api/profiles/{citizen.person_id}/card")
    assert r.status_code == 401 and r.json()["title"] == "Authentication required"
    assert r.headers["content-language"] == "en"
