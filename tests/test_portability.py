"""Download all my data (ZIP + manifest) and closing the space."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from tests.docworld import pdf
from tests.factories import PASSWORD, activated_citizen


def test_export_zip_has_a_manifest_that_matches_the_files(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    url = f"/api/profiles/{citizen.person_id}/documents"
    for title in ("Ordonnance papier", "Vaccins"):
        assert citizen.api.post(url, data={"title": title},
                                files={"file": ("scan.pdf", pdf(), "application/pdf")}).status_code == 201
    r = citizen.api.get(f"/api/profiles/{citizen.person_id}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "carnet-export/1"
    assert {d["title"] for d in manifest["documents"]} == {"Ordonnance papier", "Vaccins"}
    for doc in manifest["documents"]:
        assert hashlib.sha256(archive.read(doc["path"])).hexdigest() == doc["sha256"]
    for name in manifest["files"]:
        assert name in archive.namelist()
    profile = json.loads(archive.read("profile.json"))
    assert profile["nir"] == citizen.nir
    assert isinstance(json.loads(archive.read("access-history.json")), list)


def test_export_of_another_person_is_404(make_api, run, settings):
    a = activated_citizen(make_api, run, settings)
    b = activated_citizen(make_api, run, settings)
    assert b.api.get(f"/api/profiles/{a.person_id}/export").status_code == 404


def test_closure_needs_confirmation_then_ends_everything(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    pid = citizen.person_id
    rules = citizen.api.get(f"/api/profiles/{pid}/closure").json()
    assert rules["retention_years"] == 10 and rules["confirmation"] == "FERMER"
    r = citizen.api.post(f"/api/profiles/{pid}/close", json={"confirmation": "oui"})
    assert r.status_code == 422
    assert citizen.api.get("/api/me").status_code == 200  # nothing happened
    r = citizen.api.post(f"/api/profiles/{pid}/close", json={"confirmation": "fermer"})
    assert r.status_code == 200 and "10 ans" in r.json()["retention"]
    assert citizen.api.get("/api/me").status_code == 401
    login = make_api()
    r = login.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert r.status_code == 401
