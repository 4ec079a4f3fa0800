"""Break-glass is not cheap: a real reason, a daily limit, opposition ends it at once, guardians told."""

from __future__ import annotations

import pytest

from tests.docworld import make_pro

GOOD = {"context": "vital_emergency", "reason": "Détresse respiratoire à domicile, allergies inconnues"}


@pytest.mark.parametrize("body", [
    {**GOOD, "reason": "xxxxxxxxxxxxxxxxxxxxxxxx"},
    {**GOOD, "reason": "urgence urgence urgence"},
    {**GOOD, "reason": "a b c d e f g h i j k l"},
    {**GOOD, "reason": "trop court"},
    {**GOOD, "context": "curiosity"},
    {"reason": GOOD["reason"]},
])
def test_a_thin_reason_or_unknown_context_is_refused(world, body):
    r = world.pros["stranger"].api.post(f"/api/pro/patients/{world.patient.person_id}/emergency", json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_fourth_emergency_in_a_day_is_refused_and_recorded(world, main_client, run, settings):
    from backend.access import history

    doctor = make_pro(main_client, run, settings, "10", "URGENTISTE")
    targets = [world.patient.person_id, world.child_id, world.citizens["other"].person_id,
               world.citizens["caregiver"].person_id]
    statuses = [doctor.api.post(f"/api/pro/patients/{p}/emergency", json=GOOD).status_code for p in targets]
    assert statuses == [201, 201, 201, 429]
    [last] = run(history.history, targets[3], limit=1)
    assert (last["action"], last["outcome"]) == ("emergency.declare", "refused")


def test_opposing_ends_an_open_emergency_at_once(world, main_client, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "SMUR")
    citizen = world.citizens["other"]
    pid = citizen.person_id
    assert doctor.api.post(f"/api/pro/patients/{pid}/emergency", json=GOOD).status_code == 201
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    r = citizen.api.post(f"/api/profiles/{pid}/privacy", json={"emergency_access_opposed": True})
    assert r.status_code == 200
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404
    # Withdrawing the opposition does not bring the old emergency back.
    citizen.api.post(f"/api/profiles/{pid}/privacy", json={"emergency_access_opposed": False})
    assert doctor.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404


def test_guardians_are_told_of_an_emergency_on_their_child(world, main_client, run, settings):
    doctor = make_pro(main_client, run, settings, "10", "PEDIATRE")
    parent = world.patient
    before = parent.api.get(f"/api/profiles/{parent.person_id}/notifications").json()
    assert doctor.api.post(f"/api/pro/patients/{world.child_id}/emergency", json=GOOD).status_code == 201
    after = parent.api.get(f"/api/profiles/{parent.person_id}/notifications").json()
    assert len(after) == len(before) + 1
    notice = after[0]
    assert notice["kind"] == "access.emergency.child" and "Test PEDIATRE" in notice["text_fr"]
    assert GOOD["reason"] not in notice["text_fr"]  # no health data in a notice
