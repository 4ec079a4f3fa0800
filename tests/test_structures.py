"""Structures (FINESS): the directory import, the pharmacy search, one structure, the demo pharmacies."""

from __future__ import annotations

import importlib
import random
import uuid

from backend import demo
from backend.core import database
from backend.professionals import directory
from backend.professionals.identifiers import luhn_check_digit
from tests.factories import fresh_rpps, fresh_totp

PROBLEM = "application/problem+json"
MIGRATION = "backend.professionals.piccolo_migrations.professionals_2026_12_01t09_00_00_000000"


def fresh_finess() -> str:
    body = f"{random.randint(10**7, 10**8 - 1)}"
    return body + luhn_check_digit(body)


def admin_import(api, settings, rows: list) -> dict:
    api.headers["authorization"] = f"Bearer {settings.secrets.admin_token}"
    r = api.post("/api/admin/directory/import", json=rows)
    assert r.status_code == 200, r.text
    return r.json()


def pro_row(finess: str, **over) -> dict:
    return {"rpps": fresh_rpps(), "last_name": "TEST", "first_name": "Zoé", "profession_code": "21",
            "structure_name": "Pharmacie du Marché", "finess": finess, **over}


def structure_row(run, finess: str) -> dict | None:
    rows = run(database.fetch, "SELECT * FROM structure WHERE finess = {}", finess)
    return rows[0] if rows else None


def statuses(report: dict) -> list[str]:
    return [r["status"] for r in report["rows"]]


def pharmacies(api, q: str) -> list[str]:
    r = api.get("/api/pharmacies", params={"q": q})
    assert r.status_code == 200, r.text
    return [s["name"] for s in r.json()["items"]]


# --- the import -----------------------------------------------------------------------------


def test_import_creates_then_leaves_unchanged_then_updates_a_shared_structure(api, run, settings):
    finess = fresh_finess()
    place = {"structure_kind": "pharmacy", "address": "1 place du Marché", "postcode": "35000",
             "commune": "Rennes", "opening_hours": "lun.–sam. 9h–19h"}
    first, second = pro_row(finess, **place), pro_row(finess, first_name="Yves", **place)

    report = admin_import(api, settings, [first, second])
    assert statuses(report) == ["created", "created"] and report["rejected"] == 0
    stored = structure_row(run, finess)
    assert {k: stored[k] for k in ("kind", "name", "address", "postcode", "commune", "opening_hours")} == {
        "kind": "pharmacy", "name": "Pharmacie du Marché", "address": "1 place du Marché",
        "postcode": "35000", "commune": "Rennes", "opening_hours": "lun.–sam. 9h–19h"}
    assert stored["search_text"] == "pharmacie du marche rennes 35000"
    assert run(database.fetch, "SELECT COUNT(*) AS n FROM structure WHERE finess = {}", finess)[0]["n"] == 1

    # The same file again: nothing changes, nothing is written.
    again = admin_import(api, settings, [first, second])
    assert statuses(again) == ["unchanged", "unchanged"]
    assert structure_row(run, finess)["updated_at"] == stored["updated_at"]

    # One structure field changes: the first row that carries it is updated, the second finds it done.
    moved = {**place, "address": "3 rue Neuve", "postcode": "35700"}
    changed = admin_import(api, settings, [{**first, **moved}, {**second, **moved}])
    assert statuses(changed) == ["updated", "unchanged"]
    now = structure_row(run, finess)
    assert (now["address"], now["postcode"], now["id"]) == ("3 rue Neuve", "35700", stored["id"])
    assert now["search_text"] == "pharmacie du marche rennes 35700"

    # A row without structure fields keeps what the structure has.
    bare = {k: v for k, v in first.items() if k not in place}
    assert statuses(admin_import(api, settings, [bare])) == ["unchanged"]
    assert structure_row(run, finess)["address"] == "3 rue Neuve"


def test_a_new_structure_without_details_is_a_practice_with_an_empty_address(api, run, settings):
    finess = fresh_finess()
    report = admin_import(api, settings, [pro_row(finess, structure_name="Cabinet des Tilleuls")])
    assert statuses(report) == ["created"]
    stored = structure_row(run, finess)
    assert (stored["kind"], stored["name"], stored["address"], stored["postcode"], stored["commune"],
            stored["opening_hours"]) == ("practice", "Cabinet des Tilleuls", "", "", "", None)
    # The kind given later turns it into what it is.
    assert statuses(admin_import(api, settings, [pro_row(finess, structure_name="Cabinet des Tilleuls",
                                                          structure_kind="imaging")])) == ["created"]
    assert structure_row(run, finess)["kind"] == "imaging"


def test_bad_kind_postcode_or_length_is_a_rejected_row_and_the_others_load(api, run, settings):
    good, corsica, bad_kind, bad_code, letters, long_commune, blank = (fresh_finess() for _ in range(7))
    rows = [
        pro_row(good, structure_kind="Pharmacy", postcode="75 011", commune="Paris"),
        pro_row(bad_kind, structure_kind="shop"),
        pro_row(bad_code, postcode="7501"),
        pro_row(letters, postcode="2C004"),
        pro_row(long_commune, commune="x" * 101),
        pro_row(corsica, postcode="2a004", commune="Ajaccio"),
        pro_row(good, structure_name="Autre nom", commune="Paris"),  # same FINESS, another name
        pro_row(blank, postcode=" "),  # a blank postcode is a postcode not given
    ]
    report = admin_import(api, settings, rows)
    assert statuses(report) == ["created", "rejected", "rejected", "rejected", "rejected", "created",
                                "rejected", "created"]
    reasons = [r["reason"] for r in report["rows"]]
    assert "structure_kind" in reasons[1] and "shop" in reasons[1] and "pharmacy" in reasons[1]
    assert "code postal invalide" in reasons[2] and "7501" in reasons[2]
    assert "code postal invalide" in reasons[3]
    assert "commune" in reasons[4] and "100" in reasons[4]
    assert "structure_name" in reasons[6] and "ligne 1" in reasons[6]
    assert (report["created"], report["rejected"]) == (3, 5)
    assert structure_row(run, blank)["postcode"] == ""
    # Good rows are normalised and stored; rejected rows leave neither structure nor professional.
    assert (structure_row(run, good)["kind"], structure_row(run, good)["postcode"]) == ("pharmacy", "75011")
    assert structure_row(run, good)["name"] == "Pharmacie du Marché"
    assert structure_row(run, corsica)["postcode"] == "2A004"
    for finess in (bad_kind, bad_code, letters, long_commune):
        assert structure_row(run, finess) is None
        assert run(database.fetch, "SELECT COUNT(*) AS n FROM professional WHERE finess = {}",
                   finess)[0]["n"] == 0
    assert run(database.fetch, "SELECT COUNT(*) AS n FROM professional WHERE rpps = {}",
               rows[6]["rpps"])[0]["n"] == 0


def test_the_migration_gives_every_professional_a_structure(run):
    fill = importlib.import_module(MIGRATION).fill_missing_structures
    # A pharmacy no conversation names (a thread keeps its structure by a foreign key).
    pharmacy = demo.STRUCTURES["eglise"]
    run(database.execute, "DELETE FROM structure WHERE finess IN ({}, {})",
        pharmacy["finess"], demo.STRUCTURES["practice"]["finess"])
    before = run(database.fetch, "SELECT finess, updated_at FROM structure ORDER BY finess")

    assert run(fill) == 2
    recreated = structure_row(run, pharmacy["finess"])
    assert (recreated["kind"], recreated["name"], recreated["address"], recreated["postcode"]) == (
        "practice", "Pharmacie de l'Église", "", "")
    assert recreated["search_text"] == "pharmacie de l eglise"
    assert structure_row(run, demo.STRUCTURES["practice"]["finess"])["name"] == "Cabinet du Parc"
    after = run(database.fetch, "SELECT finess, updated_at FROM structure ORDER BY finess")
    assert [r for r in after if r["finess"] in {b["finess"] for b in before}] == before  # others untouched
    missing = run(database.fetch, "SELECT COUNT(*) AS n FROM professional p "
                                  "LEFT JOIN structure s ON s.finess = p.finess WHERE s.id IS NULL")
    assert missing[0]["n"] == 0
    assert run(fill) == 0


# --- search ---------------------------------------------------------------------------------


def test_search_ignores_accents_case_and_hyphens_by_name_commune_and_postcode(run):
    def found(q: str, kind: str | None = "pharmacy") -> list[str]:
        return [s["name"] for s in run(directory.search_structures, q, kind)]

    eglise = ["Pharmacie de l'Église"]
    assert found("saint etienne") == eglise  # commune, hyphen and accent ignored
    assert found("SAINT-ÉTIENNE") == eglise
    assert found("Saint-Etienne") == eglise
    assert found("l'eglise") == eglise  # name, apostrophe ignored
    assert found("ÉGLISE") == eglise
    assert found("42000") == eglise  # postcode
    assert found("eglise 42000") == eglise  # every word, in any field
    assert found("eglise lyon") == []
    assert found("boulogne billancourt") == ["Pharmacie des Quais"]
    assert found("vieux port") == ["Grande Pharmacie du Vieux-Port"]
    assert found("saint") == ["Pharmacie de l'Église", "Pharmacie Saint-Jean"]  # commune and name
    # Ordered by name (accents and case ignored), pharmacies only.
    all_pharmacies = found("pharmacie")
    assert all_pharmacies == ["Grande Pharmacie du Vieux-Port", "Pharmacie de l'Église",
                              "Pharmacie de la Gare", "Pharmacie des Quais", "Pharmacie Saint-Jean"]
    assert found("parc") == []  # the GP's practice is no pharmacy
    assert found("parc", None) == ["Cabinet du Parc"]
    assert found("lumiere", "imaging") == ["Centre d'imagerie Lumière"]
    assert found("paris", None) == ["Cabinet du Parc", "Centre d'imagerie Lumière", "Pharmacie de la Gare"]
    assert len(run(directory.search_structures, "pharmacie", "pharmacy", 2)) == 2
    assert found("%") == [] and found("_ _") == []  # no wildcard, no word: nothing


def test_a_citizen_and_a_professional_search_pharmacies_only(demo_apis, api, run, settings):
    finess = fresh_finess()
    admin_import(api, settings, [pro_row(finess, profession_code="10", structure_name="Centre hospitalier",
                                         structure_kind="hospital", commune="Saint-Étienne", postcode="42000")])
    assert run(directory.search_structures, "saint etienne", None)[0]["name"] == "Centre hospitalier"
    for who in ("camille", "pharmacist"):
        r = demo_apis[who].get("/api/pharmacies", params={"q": "saint-etienne"})
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item == {"id": item["id"], "finess": demo.STRUCTURES["eglise"]["finess"], "kind": "pharmacy",
                        "name": "Pharmacie de l'Église", "address": "3 place de l'Église", "postcode": "42000",
                        "commune": "Saint-Étienne", "opening_hours": "lun.–sam. 9h–12h30, 14h–19h"}
    assert pharmacies(demo_apis["camille"], "BOULOGNE-BILLANCOURT") == ["Pharmacie des Quais"]
    assert pharmacies(demo_apis["camille"], "Centre hospitalier") == []


def test_a_query_out_of_bounds_is_a_problem_naming_q(demo_apis):
    camille = demo_apis["camille"]
    for params, rule in (({"q": "a"}, "longueur au moins 2"), ({"q": "x" * 101}, "longueur au plus 100")):
        r = camille.get("/api/pharmacies", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        body = r.json()
        assert [(e["field"], e["message"]) for e in body["errors"]] == [("q", rule)], body
        assert rule in body["detail"]
    missing = camille.get("/api/pharmacies")
    assert missing.status_code == 400 and missing.headers["content-type"].startswith(PROBLEM)
    assert "'q'" in missing.json()["detail"]
    english = camille.get("/api/pharmacies", params={"q": "a"}, headers={"accept-language": "en"}).json()
    assert english["errors"][0]["field"] == "q" and "length" in english["detail"]


def test_one_structure_and_an_unknown_one(demo_apis):
    camille = demo_apis["camille"]
    [gare] = camille.get("/api/pharmacies", params={"q": "gare"}).json()["items"]
    r = camille.get(f"/api/structures/{gare['id']}")
    assert r.status_code == 200 and r.json() == gare
    r = demo_apis["gp"].get(f"/api/structures/{uuid.uuid4()}")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["detail"] == "Structure introuvable."
    r = demo_apis["gp"].get(f"/api/structures/{uuid.uuid4()}", headers={"accept-language": "en"})
    assert r.json()["detail"] == "Structure not found."


def test_a_logged_out_caller_is_refused(api, run):
    some = run(directory.search_structures, "gare")[0]
    for url in ("/api/pharmacies?q=gare", f"/api/structures/{some['id']}"):
        r = api.get(url)
        assert r.status_code == 401, (url, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert "items" not in r.text and "Gare" not in r.text


# --- the demo pharmacy and its two pharmacists -------------------------------------------------


def _pro_id(run, rpps: str):
    return run(database.fetch, "SELECT id FROM professional WHERE rpps = {}", rpps)[0]["id"]


def test_two_demo_pharmacists_share_their_pharmacy(demo_apis, make_api, run):
    bruno = run(directory.structure_of, _pro_id(run, demo.PHARMACIST_RPPS))
    ines = run(directory.structure_of, _pro_id(run, demo.PHARMACIST2_RPPS))
    assert bruno == ines and bruno["kind"] == "pharmacy" and bruno["name"] == "Pharmacie de la Gare"
    assert run(directory.get_structure, bruno["id"]) == bruno
    members = run(directory.members, bruno["id"])
    assert [(m["last_name"], m["first_name"], m["profession_code"]) for m in members] == [
        ("COMPTOIR", "Inès", "21"), ("OFFICINE", "Bruno", "21")]
    assert {m["id"] for m in members} == {_pro_id(run, demo.PHARMACIST_RPPS), _pro_id(run, demo.PHARMACIST2_RPPS)}
    # The GP and the radiologist work in a practice and an imaging centre; each other pharmacy has one pharmacist.
    assert run(directory.structure_of, _pro_id(run, demo.GP_RPPS))["kind"] == "practice"
    assert run(directory.structure_of, _pro_id(run, demo.RADIOLOGIST_RPPS))["kind"] == "imaging"
    for key, number, last, _ in demo.OTHER_PHARMACISTS:
        found = run(directory.structure_of, _pro_id(run, number))
        assert found["finess"] == demo.STRUCTURES[key]["finess"] and found["kind"] == "pharmacy"
        assert [m["last_name"] for m in run(directory.members, found["id"])] == [last]
    assert run(directory.members, uuid.uuid4()) == [] and run(directory.get_structure, "not-an-id") is None
    assert run(directory.structure_of, uuid.uuid4()) is None

    # /api/pro/me shows the structure, the same for both; the second pharmacist logs in like the others.
    me = demo_apis["pharmacist"].get("/api/pro/me").json()
    assert me["structure"] == {"id": str(bruno["id"]), "finess": bruno["finess"], "kind": "pharmacy",
                               "name": "Pharmacie de la Gare", "address": "8 rue de la Gare", "postcode": "75019",
                               "commune": "Paris", "opening_hours": "lun.–sam. 8h30–19h30"}
    second = make_api()
    r = second.post("/api/auth/login", json={"identifier": demo.PHARMACIST2_RPPS,
                                             "password": demo.DEMO_PASSWORD, "kind": "pro"})
    assert r.status_code == 200, r.text
    r = second.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS["pharmacist2"])})
    assert r.status_code == 200, r.text
    hers = second.get("/api/pro/me").json()
    assert (hers["last_name"], hers["structure"]) == ("COMPTOIR", me["structure"])
    assert demo_apis["gp"].get("/api/pro/me").json()["structure"]["kind"] == "practice"


def test_the_demo_accounts_list_the_second_pharmacist_and_the_pharmacies():
    text = demo.summary()
    assert f"Inès COMPTOIR     RPPS {demo.PHARMACIST2_RPPS}" in text
    assert demo.TOTP_SECRETS["pharmacist2"] in text
    assert "Pharmacie de l'Église / 42000 Saint-Étienne" in text
    assert "Boulogne-Billancourt" in text
