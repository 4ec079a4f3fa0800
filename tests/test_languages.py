"""Every text the API returns follows Accept-Language: problem details, each errors[].message,
and the reasons shown in the access history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend import demo
from backend.access import history
from backend.identity.tables import InsuredPerson

ROOT = Path(__file__).resolve().parents[1]
EN = {"accept-language": "en-GB,en;q=0.9"}


def _camille_id(run):
    return run(lambda: InsuredPerson.select(InsuredPerson.id).where(
        InsuredPerson.nir == demo.CAMILLE).first())["id"]


def _both(send):
    """The same request in French (the default) and in English."""
    fr, en = send({}), send(EN)
    assert fr.status_code == en.status_code and fr.status_code >= 400, fr.text
    assert fr.headers["content-language"] == "fr" and en.headers["content-language"] == "en"
    return fr.json(), en.json()


def test_an_unknown_field_is_named_in_each_language(api):
    fr, en = _both(lambda h: api.post("/api/auth/login", headers=h, json={
        "identifier": demo.CAMILLE, "password": "x" * 12, "admin": True}))
    assert fr["errors"][0]["message"] == "champ inconnu : « admin »"
    assert en["errors"][0]["message"] == "Object contains unknown field `admin`"
    assert fr["title"] != en["title"] and "champ inconnu" in fr["detail"]


def test_a_missing_field_and_a_wrong_type_in_each_language(demo_apis, run):
    camille = demo_apis["camille"]
    url = f"/api/profiles/{_camille_id(run)}/delegations"
    fr, en = _both(lambda h: camille.post(url, headers=h, json={"label": "Voisine", "scopes": ["read_documents"]}))
    assert fr["errors"][0]["message"] == "champ obligatoire absent : « ends_at »"
    assert "missing required field `ends_at`" in en["errors"][0]["message"]
    fr, en = _both(lambda h: camille.post(url, headers=h, json={
        "label": 12, "scopes": ["read_documents"], "ends_at": "2030-01-01T00:00:00Z"}))
    assert fr["errors"][0]["message"].startswith("type attendu : str (reçu : int)")
    assert en["errors"][0]["message"].startswith("Expected `str`, got `int`")


def test_a_format_error_in_each_language(api):
    fr, en = _both(lambda h: api.post("/api/auth/login", headers=h, json={
        "identifier": "123", "password": "x" * 12}))
    assert fr["errors"][0]["message"] == "format invalide pour identifier"
    assert en["errors"][0]["message"] == "invalid format for identifier"


def test_a_date_parameter_error_in_each_language(demo_apis, run):
    url = f"/api/profiles/{_camille_id(run)}/access-history?since=1700000000"
    fr, en = _both(lambda h: demo_apis["camille"].get(url, headers=h))
    assert fr["errors"][0] == {"field": "since", "rule": "format",
                               "message": "date et heure ISO 8601 attendue"}
    assert en["errors"][0]["message"] == "ISO 8601 date-time expected"


def test_a_refusal_by_a_rule_in_each_language(demo_apis, run):
    from tests.factories import reauthenticate

    reauthenticate(demo_apis["camille"], demo.TOTP_SECRETS["camille"])
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    url = f"/api/profiles/{_camille_id(run)}/delegations"
    fr, en = _both(lambda h: demo_apis["camille"].post(url, headers=h, json={
        "label": "Voisine", "scopes": ["read_documents"], "ends_at": past}))
    assert fr["status"] == 422
    assert fr["errors"][0]["message"] == "hors limites" and en["errors"][0]["message"] == "out of range"
    assert "Date de fin invalide" in fr["detail"] and "Invalid end date" in en["detail"]


def test_the_access_history_gives_refusal_reasons_in_each_language(demo_apis, run):
    camille, pharmacist = demo_apis["camille"], demo_apis["pharmacist"]
    camille_id = _camille_id(run)
    token = camille.post(f"/api/profiles/{camille_id}/presentations").json()["token"]
    assert pharmacist.post("/api/pro/presentations/verify", json={"token": token}).status_code == 200
    assert pharmacist.post("/api/pro/presentations/verify", json={"token": token}).status_code == 422
    url = f"/api/profiles/{camille_id}/access-history?outcome=refused&action=card.verify"
    [fr] = camille.get(url).json()["items"]
    [en] = camille.get(url, headers=EN).json()["items"]
    assert fr["purpose"] == en["purpose"] == "token-used"
    assert fr["reason"] == "QR code déjà utilisé" and en["reason"] == "QR code already used"


def test_a_purpose_without_a_code_is_shown_as_written():
    written = "Urgence vitale — Détresse respiratoire à domicile"
    assert history.reason_text(written, english=True) == written
    # Sentences stored before the codes existed are shown in words too.
    older = "Token already used: ask the patient to show a new one."
    assert history.reason_text(older, english=False) == "QR code déjà utilisé"


@pytest.mark.parametrize("source, pattern", [
    ("backend/documents/policy.py", r'refusal="([^"]+)"'),
    ("backend/documents/services.py", r'^(?:OUTSIDE|NOT_CITIZENS) = "([^"]+)"'),
    ("backend/documents/services.py", r'return "([^"]+)"'),
    ("backend/documents/services.py", r'purpose="([^"]+)"'),
    ("backend/access/preferences.py", r'purpose="([^"]+)"'),
    ("backend/card/services.py", r'refusal = \("([^"]+)"'),
])
def test_every_stored_refusal_code_has_words(source, pattern):
    codes = re.findall(pattern, (ROOT / source).read_text(), flags=re.MULTILINE)
    assert codes, f"no refusal code found in {source}: the pattern is stale"
    missing = [c for c in codes if c not in history.REASONS]
    assert not missing, f"{source}: codes without French and English words: {missing}"


def test_an_emergency_context_is_shown_in_each_language_and_the_written_words_as_written(world):
    from tests.test_emergency import GOOD, declare

    pid = world.patient.person_id
    body = {"context": "unconscious_patient", "reason": GOOD["reason"]}
    assert declare(world.pros["stranger"], pid, body).status_code == 201
    url = f"/api/profiles/{pid}/access-history?action=emergency.declare&limit=1"
    [fr] = world.patient.api.get(url).json()["items"]
    [en] = world.patient.api.get(url, headers=EN).json()["items"]
    assert fr["purpose"] == en["purpose"] == f"patient hors d'état de consentir — {GOOD['reason']}"
    assert fr["reason"] == fr["purpose"]
    assert en["reason"] == f"patient unable to consent — {GOOD['reason']}"


def test_the_operator_is_named_in_the_reader_language():
    event = {"actor_kind": "operator", "actor_label": "Opérateur Carnet", "purpose": "blocked"}
    assert history.localise(event, english=True) == {
        **event, "actor_label": "Carnet operator", "reason": "the patient blocked this professional"}
    assert history.localise(event, english=False)["actor_label"] == "Opérateur Carnet"
    # A person who happens to bear the same words is never renamed.
    person = {**event, "actor_kind": "pro"}
    assert history.localise(person, english=True)["actor_label"] == "Opérateur Carnet"


def test_the_exported_access_history_gives_reasons_in_the_reader_language(demo_apis, run):
    import io
    import json
    import zipfile

    camille, pharmacist = demo_apis["camille"], demo_apis["pharmacist"]
    camille_id = _camille_id(run)
    token = camille.post(f"/api/profiles/{camille_id}/presentations").json()["token"]
    for _ in range(2):
        pharmacist.post("/api/pro/presentations/verify", json={"token": token})

    def refused(headers):
        r = camille.get(f"/api/profiles/{camille_id}/export", headers=headers)
        assert r.status_code == 200, r.text
        events = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("access-history.json"))
        return [e for e in events if e["outcome"] == "refused" and e["action"] == "card.verify"]

    [fr], [en] = refused({}), refused(EN)
    assert fr["purpose"] == en["purpose"] == "token-used"
    assert fr["reason"] == "QR code déjà utilisé" and en["reason"] == "QR code already used"


def test_a_closure_without_its_confirmation_says_what_to_type_in_each_language(make_api, run, settings):
    from tests.factories import activated_citizen

    citizen = activated_citizen(make_api, run, settings)
    fr, en = _both(lambda h: citizen.api.post(f"/api/profiles/{citizen.person_id}/close", headers=h,
                                              json={"confirmation": "oui"}))
    assert fr["errors"] == [{"field": "confirmation", "rule": "equals", "message": "saisir « FERMER »"}]
    assert en["errors"] == [{"field": "confirmation", "rule": "equals", "message": "type 'FERMER'"}]


def test_a_request_from_another_site_is_refused_in_the_first_language_the_client_names(api):
    r = api.post("/api/auth/login", json={"identifier": demo.CAMILLE, "password": "x"},
                 headers={"origin": "https://evil.example", "accept-language": "de-DE, en;q=0.8, fr;q=0.5"})
    assert r.status_code == 403 and r.headers["content-language"] == "en"
    assert r.json()["title"] == "Forbidden"
