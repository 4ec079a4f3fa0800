"""GET /api/pro/patients: a professional's patients and the basis of each access, paged."""

from __future__ import annotations

from datetime import timedelta

from backend import demo
from backend.access.tables import EmergencyAccess
from backend.core.auth import utcnow
from tests.factories import login_demo

PROBLEM = "application/problem+json"
EMERGENCY = {"context": "vital_emergency", "reason": "Détresse respiratoire à domicile, allergies inconnues"}


def profiles(citizen) -> dict[str, str]:
    return {p["first_name"]: p["id"] for p in citizen.get("/api/me").json()["profiles"]}


def listed(pro, **params) -> dict:
    r = pro.get("/api/pro/patients", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def names(page: dict) -> list[str]:
    return [p["display_name"] for p in page["items"]]


def test_the_gp_lists_the_patients_they_are_the_registered_gp_of(demo_apis):
    page = listed(demo_apis["gp"])
    ids = profiles(demo_apis["camille"])
    assert names(page) == ["Léo INVENTÉ", "Camille INVENTÉE"]  # by birth name, then first name
    assert page["total"] == 2 and page["next_cursor"] is None
    camille = page["items"][1]
    assert camille == {"id": ids["Camille"], "display_name": "Camille INVENTÉE", "first_name": "Camille",
                       "birth_name": "INVENTÉE", "birth_date": "1984-05-12", "basis": "gp", "until": None}


def test_pages_follow_the_cursor(demo_apis):
    gp = demo_apis["gp"]
    first = listed(gp, limit=1)
    assert names(first) == ["Léo INVENTÉ"] and first["total"] == 2
    assert first["next_cursor"] == first["items"][0]["id"]
    second = listed(gp, limit=1, cursor=first["next_cursor"])
    assert names(second) == ["Camille INVENTÉE"] and second["next_cursor"] is None
    # A cursor that is not one of this professional's patients is refused, in the problem format.
    stranger = profiles(demo_apis["dominique"])["Dominique"]
    r = gp.get("/api/pro/patients", params={"cursor": stranger})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-uuid"}):
        r = gp.get("/api/pro/patients", params=bad)
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM), bad


def test_a_redeemed_code_lists_the_patient_until_it_ends_or_is_revoked(demo_apis):
    camille, pharmacist = demo_apis["camille"], demo_apis["pharmacist"]
    me = profiles(camille)["Camille"]
    assert listed(pharmacist)["items"] == []
    code = camille.post(f"/api/profiles/{me}/temporary-access", json={"minutes": 60}).json()
    r = pharmacist.post("/api/pro/temporary-access/redeem", json={"code": code["code"]})
    assert r.status_code == 200, r.text
    [item] = listed(pharmacist)["items"]
    assert (item["id"], item["basis"]) == (me, "temporary")
    assert item["until"][:16] == code["expires_at"][:16]
    assert camille.delete(f"/api/temporary-access/{code['id']}").status_code == 204
    assert listed(pharmacist)["items"] == []


def test_the_care_team_is_listed_as_granted(demo_apis):
    camille, pharmacist = demo_apis["camille"], demo_apis["pharmacist"]
    me = profiles(camille)["Camille"]
    r = camille.post(f"/api/profiles/{me}/care-team", json={"rpps": demo.PHARMACIST_RPPS, "role": "granted"})
    assert r.status_code == 204, r.text
    [item] = listed(pharmacist)["items"]
    assert (item["id"], item["basis"], item["until"]) == (me, "granted", None)


def test_a_block_hides_the_patient_whatever_the_basis(demo_apis):
    camille, gp = demo_apis["camille"], demo_apis["gp"]
    me = profiles(camille)["Camille"]
    code = camille.post(f"/api/profiles/{me}/temporary-access", json={"minutes": 60}).json()
    assert gp.post("/api/pro/temporary-access/redeem", json={"code": code["code"]}).status_code == 200
    assert camille.post(f"/api/profiles/{me}/blocks", json={"rpps": demo.GP_RPPS}).status_code == 204
    page = listed(gp)
    assert names(page) == ["Léo INVENTÉ"] and page["total"] == 1  # Léo did not block anyone


def test_an_emergency_lists_the_patient_until_it_ends_or_is_opposed(demo_apis, make_api, run):
    radiologist = login_demo(make_api, "radiologist")
    dominique = demo_apis["dominique"]
    pid = profiles(dominique)["Dominique"]
    r = radiologist.post(f"/api/pro/patients/{pid}/emergency", json=EMERGENCY)
    assert r.status_code == 201, r.text
    [item] = listed(radiologist)["items"]
    assert (item["id"], item["basis"]) == (pid, "emergency") and item["until"]
    # An emergency that ended is not a basis any more.
    run(lambda: EmergencyAccess.update({EmergencyAccess.expires_at: utcnow() - timedelta(minutes=1)})
        .where(EmergencyAccess.person == pid))
    assert listed(radiologist) == {"items": [], "next_cursor": None, "total": 0}


def test_an_opposed_emergency_is_not_listed(demo_apis, make_api, run):
    radiologist = login_demo(make_api, "radiologist")
    dominique = demo_apis["dominique"]
    pid = profiles(dominique)["Dominique"]
    assert radiologist.post(f"/api/pro/patients/{pid}/emergency", json=EMERGENCY).status_code == 201
    assert dominique.post(f"/api/profiles/{pid}/privacy",
                          json={"emergency_access_opposed": True}).status_code == 200
    assert listed(radiologist)["items"] == []
    # Even a running emergency row (declared before the opposition was recorded) does not list him.
    run(lambda: EmergencyAccess.update({EmergencyAccess.expires_at: utcnow() + timedelta(hours=1)})
        .where(EmergencyAccess.person == pid))
    assert listed(radiologist)["items"] == []
    # The care relation still lists an opposed patient: opposition is about emergencies only.
    assert dominique.post(f"/api/profiles/{pid}/care-team",
                          json={"rpps": demo.RADIOLOGIST_RPPS, "role": "granted"}).status_code == 204
    assert [(p["id"], p["basis"]) for p in listed(radiologist)["items"]] == [(pid, "granted")]


def test_citizens_and_anonymous_callers_are_refused(demo_apis, make_api):
    r = demo_apis["camille"].get("/api/pro/patients")
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    r = make_api().get("/api/pro/patients")
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)
