"""Break-glass is not cheap: a real reason, a daily limit, opposition ends it at once, guardians told."""

from __future__ import annotations

import pytest

from backend.access import history
from tests.docworld import make_pro
from tests.factories import activated_citizen, import_persons, person_row

GOOD = {"context": "vital_emergency", "reason": "Détresse respiratoire à domicile, allergies inconnues"}
PROBLEM = "application/problem+json"


def declare(pro, person_id, body=GOOD):
    return pro.api.post(f"/api/pro/patients/{person_id}/emergency", json=body)


@pytest.mark.parametrize("reason, says", [
    ("xxxxxxxxxx", "caractère répété"),
    ("x" * 40, "caractère répété"),
    ("trop court", "trop court : 10 caractères"),
    ("urgence urgence urgence", "trop vague : 1 mot"),
    ("a b c d e f g h i j k l", "trop vague : 0 mot"),
])
def test_a_thin_reason_is_refused_with_what_is_wrong_and_recorded(world, run, reason, says):
    r = declare(world.pros["stranger"], world.patient.person_id, {**GOOD, "reason": reason})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert says in r.json()["detail"] and r.json()["errors"][0]["field"] == "reason"
    [last] = run(history.history, world.patient.person_id, limit=1)
    assert (last["action"], last["outcome"]) == ("emergency.declare", "refused")


@pytest.mark.parametrize("body", [{**GOOD, "context": "curiosity"}, {"reason": GOOD["reason"]}])
def test_an_unknown_or_missing_context_is_refused(world, body):
    r = declare(world.pros["stranger"], world.patient.person_id, body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)


def test_a_real_reason_opens_the_record_and_is_recorded_with_its_context(world, run):
    doctor = world.pros["stranger"]
    pid = world.patient.person_id
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404
    r = declare(doctor, pid, {"context": "unconscious_patient", "reason": GOOD["reason"]})
    assert r.status_code == 201, r.text
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    [last] = run(history.history, pid, action="emergency.declare", limit=1)
    assert last["outcome"] == "allowed"
    assert last["purpose"] == f"patient hors d'état de consentir — {GOOD['reason']}"


def test_a_fourth_emergency_in_a_day_is_refused_and_recorded(world, main_client, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "URGENTISTE")
    targets = [world.patient.person_id, world.child_id, world.citizens["other"].person_id,
               world.citizens["caregiver"].person_id]
    answers = [declare(doctor, p) for p in targets]
    assert [r.status_code for r in answers] == [201, 201, 201, 429]
    refused = answers[3]
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["type"].endswith("/too-many-attempts")
    assert "3 urgences ces dernières 24 heures" in refused.json()["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
    [last] = run(history.history, targets[3], limit=1)
    assert (last["action"], last["outcome"]) == ("emergency.declare", "refused")
    # The refusal opened nothing.
    assert doctor.api.get(f"/api/pro/patients/{targets[3]}/documents").status_code == 404


def test_opposing_ends_an_open_emergency_at_once(world, main_client, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "SMUR")
    citizen = world.citizens["other"]
    pid = citizen.person_id
    assert declare(doctor, pid).status_code == 201
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    r = citizen.api.post(f"/api/profiles/{pid}/privacy", json={"emergency_access_opposed": True})
    assert r.status_code == 200
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404
    # Withdrawing the opposition does not bring the old emergency back.
    citizen.api.post(f"/api/profiles/{pid}/privacy", json={"emergency_access_opposed": False})
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404


def test_an_opposition_is_checked_when_reading_too(world, main_client, run, settings):
    """An emergency row still open while the person opposes gives no access (the rule at read time)."""
    from backend.identity.tables import InsuredPerson

    doctor = make_pro(main_client, run, settings, "10", "REGULATEUR")
    pid = world.citizens["other"].person_id
    assert declare(doctor, pid).status_code == 201

    async def oppose_without_closing() -> None:
        await InsuredPerson.update({InsuredPerson.emergency_access_opposed: True}).where(
            InsuredPerson.id == pid)

    run(oppose_without_closing)
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404


def test_every_guardian_is_told_of_an_emergency_on_their_child(main_client, make_api, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "PEDIATRE")
    mother = activated_citizen(make_api, run, settings)
    father = activated_citizen(make_api, run, settings, _sex="1")
    [child] = import_persons(run, settings, [person_row(_sex="1", parent_nirs=[mother.nir, father.nir],
                                                         birth_date="2015-05-05", first_names=["Noé"])])
    before = [p.api.get(f"/api/profiles/{p.person_id}/notifications").json() for p in (mother, father)]
    assert declare(doctor, child.person_id).status_code == 201
    for parent, seen in zip((mother, father), before, strict=True):
        after = parent.api.get(f"/api/profiles/{parent.person_id}/notifications").json()
        assert len(after) == len(seen) + 1
        notice = after[0]
        assert notice["kind"] == "access.emergency.child"
        assert "Noé" in notice["text_fr"] and "Test PEDIATRE" in notice["text_fr"]
        assert "respiratoire" not in notice["text_fr"] + notice["text_en"]  # no health data in a notice


def test_an_adult_s_emergency_notifies_no_one_else(world, main_client, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "GENERALISTE")
    parent = world.patient
    before = parent.api.get(f"/api/profiles/{parent.person_id}/notifications").json()
    assert declare(doctor, world.citizens["other"].person_id).status_code == 201
    assert parent.api.get(f"/api/profiles/{parent.person_id}/notifications").json() == before


def test_concurrent_declarations_cannot_race_past_the_limit(world, main_client, run, settings):
    import asyncio
    from uuid import UUID, uuid4

    from backend.access import preferences
    from backend.core.auth import Actor
    from backend.core.errors import TooManyAttempts

    doctor = make_pro(main_client, run, settings, "10", "PRESSE")
    actor = Actor(account_id=uuid4(), kind="pro", session_id="s", stage="active",
                  professional_id=UUID(doctor.id))
    targets = [world.patient.person_id, world.child_id, world.citizens["other"].person_id,
               world.citizens["caregiver"].person_id] * 2

    async def all_at_once() -> list:
        return await asyncio.gather(*(
            preferences.declare_emergency(settings, actor, UUID(str(p)), "vital_emergency", GOOD["reason"],
                                          "Test PRESSE") for p in targets), return_exceptions=True)

    results = run(all_at_once)
    assert sum(isinstance(r, dict) for r in results) == 3
    assert sum(isinstance(r, TooManyAttempts) for r in results) == 5
