"""Insurer registry and professional directory imports (endpoint and CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

from backend.identity.tables import ActivationCode, Guardianship, InsuredPerson
from tests.factories import fresh_nir, fresh_rpps, person_row

CSV_HEADER = ("nir;identity_status;birth_name;first_names;birth_date;sex;birthplace_code;"
              "amo_regime;amo_caisse;amo_caisse_code;amo_rights_start;amc_organisation;parent_nirs")


def admin(api, settings):
    api.headers["authorization"] = f"Bearer {settings.secrets.admin_token}"
    return api


def csv_line(row: dict, parents: str = "", amc: str = "") -> str:
    return ";".join([row["nir"], row["identity_status"], row["birth_name"], " ".join(row["first_names"]),
                     row["birth_date"], row["sex"], row["birthplace_code"], row["amo_regime"],
                     row["amo_caisse"], row["amo_caisse_code"], row["amo_rights_start"], amc, parents])


def test_csv_import_reports_each_row_and_bad_rows_do_not_abort(api, run, settings):
    parent, child = person_row(), person_row(_sex="1")
    bad_key = person_row()
    bad_key["nir"] = bad_key["nir"][:13] + f"{(int(bad_key['nir'][13:]) % 97) + 1:02d}"
    body = "\n".join([
        CSV_HEADER,
        csv_line(child, parents=parent["nir"]),  # the child comes first: parents are imported first
        csv_line(parent, amc="Mutuelle Test"),
        csv_line(bad_key),
    ])
    r = admin(api, settings).post("/api/admin/registry/import", content=body.encode(),
                                  headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["rejected"]) == (2, 1)
    rows = {x["row"]: x for x in report["rows"]}
    assert rows[3]["status"] == "rejected" and "Clé NIR invalide" in rows[3]["reason"]
    assert rows[1]["activation_code"] and rows[2]["activation_code"]
    links = run(lambda: Guardianship.select(Guardianship.parent.nir.as_alias("p"),
                                            Guardianship.child.nir.as_alias("c")).where(
        Guardianship.child.nir == child["nir"]))
    assert links == [{"p": parent["nir"], "c": child["nir"]}]
    # Codes are stored hashed, never in clear.
    codes = run(lambda: ActivationCode.select(ActivationCode.code_hash).where(
        ActivationCode.person.nir == parent["nir"]))
    assert rows[2]["activation_code"] not in codes[0]["code_hash"] and len(codes[0]["code_hash"]) == 64

    again = admin(api, settings).post("/api/admin/registry/import", content=body.encode(),
                                      headers={"content-type": "text/csv"}).json()
    assert (again["created"], again["unchanged"], again["rejected"]) == (0, 2, 1)


def test_json_import_updates_and_rejects_unknown_parent(api, run, settings):
    person = person_row()
    orphan = person_row(parent_nirs=[fresh_nir()])
    first = admin(api, settings).post("/api/admin/registry/import", json=[person, orphan]).json()
    assert [r["status"] for r in first["rows"]] == ["created", "rejected"]
    assert "parent" in first["rows"][1]["reason"]
    person["identity_status"] = "VALI"
    second = admin(api, settings).post("/api/admin/registry/import", json=[person]).json()
    assert second["rows"][0]["status"] == "updated"
    status = run(lambda: InsuredPerson.select(InsuredPerson.identity_status).where(
        InsuredPerson.nir == person["nir"]).first())
    assert status["identity_status"] == "VALI"
    assert run(lambda: InsuredPerson.count().where(InsuredPerson.nir == orphan["nir"])) == 0


def test_import_rejects_bad_rows_with_reasons(api, settings):
    rows = [
        {**person_row(), "unknown_field": 1},
        {**person_row(), "sex": "X"},
        {**person_row(), "identity_status": "GOOD"},
        {**person_row(), "birth_date": "2999-01-01"},
        "not an object",
    ]
    report = admin(api, settings).post("/api/admin/registry/import", json=rows).json()
    assert report["rejected"] == 5
    reasons = [r["reason"] for r in report["rows"]]
    assert "unknown_field" in reasons[0]
    assert "sex" in reasons[1]
    assert "Statut d'identité inconnu" in reasons[2]
    assert "futur" in reasons[3]


def test_import_needs_the_operator_token(make_api, settings):
    api = make_api()
    assert api.post("/api/admin/registry/import", json=[person_row()]).status_code == 403
    api.headers["authorization"] = "Bearer wrong"
    assert api.post("/api/admin/registry/import", json=[person_row()]).status_code == 403


def test_import_refuses_other_content_and_malformed_json(api, settings):
    a = admin(api, settings)
    r = a.post("/api/admin/registry/import", content=b"<xml/>", headers={"content-type": "text/xml"})
    assert r.status_code == 415
    r = a.post("/api/admin/registry/import", content=b"[{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON illisible" in r.json()["detail"]


def test_directory_import(api, run, settings):
    good = {"rpps": fresh_rpps(), "last_name": "TEST", "first_name": "Zoé", "profession_code": "60",
            "structure_name": "Cabinet infirmier", "finess": "750000010"}
    bad_rpps = {**good, "rpps": good["rpps"][:-1] + str((int(good["rpps"][-1]) + 1) % 10)}
    bad_prof = {**good, "rpps": fresh_rpps(), "profession_code": "99"}
    report = admin(api, settings).post("/api/admin/directory/import",
                                       json=[good, bad_rpps, bad_prof]).json()
    assert [r["status"] for r in report["rows"]] == ["created", "rejected", "rejected"]
    assert "RPPS" in report["rows"][1]["reason"]
    assert "profession_code" in report["rows"][2]["reason"]


def test_cli_import_registry(tmp_path, settings):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps([person_row(), {"nir": "bad"}]))
    env = {"CARNET_DATA_DIR": str(settings.data_dir), "CARNET_DATABASE_URL": settings.database_url,
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "import-registry", str(path)],
                         capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 1  # one row rejected
    rows = json.loads(out.stdout)
    assert [r["status"] for r in rows] == ["created", "rejected"]


def test_cli_import_directory_opens_the_login_account(tmp_path, settings, make_api):
    rpps = fresh_rpps()
    path = tmp_path / "directory.json"
    path.write_text(json.dumps([{"rpps": rpps, "last_name": "LIGNE", "first_name": "Commande",
                                 "profession_code": "60", "structure_name": "Cabinet infirmier",
                                 "finess": "750000010"}]))
    env = {"CARNET_DATA_DIR": str(settings.data_dir), "CARNET_DATABASE_URL": settings.database_url,
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "import-directory", str(path)],
                         capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert row["status"] == "created" and row["activation_code"]
    # The account it opened takes the activation code.
    r = make_api().post("/api/activation/pro", json={"rpps": rpps, "activation_code": row["activation_code"]})
    assert r.status_code == 200, r.text
