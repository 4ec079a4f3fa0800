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


def test_the_export_has_a_page_to_read_it_in_a_browser(world, run):
    from html.parser import HTMLParser

    api, pid = world.patient.api, world.patient.person_id
    hostile = "<script>alert(1)</script> & co"
    assert api.post(f"/api/profiles/{pid}/documents", data={"title": hostile},
                    files={"file": ("scan.pdf", pdf("hostile"), "application/pdf")}).status_code == 201
    # A refused access, so the history has a reason in words.
    world.pros["stranger"].api.get(f"/api/pro/patients/{pid}/documents")

    def page(headers):
        r = api.get(f"/api/profiles/{pid}/export", headers=headers)
        archive = zipfile.ZipFile(io.BytesIO(r.content))
        assert "index.html" in json.loads(archive.read("manifest.json"))["files"]
        return archive, archive.read("index.html").decode()

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.links, self.scripts = [], 0

        def handle_starttag(self, tag, attrs):
            self.links += [v for k, v in attrs if tag == "a" and k == "href"]
            self.scripts += tag == "script"

    archive, fr = page({})
    parsed = Links()
    parsed.feed(fr)
    manifest = json.loads(archive.read("manifest.json"))
    # Every document is listed with a link to its file in the archive.
    assert sorted(parsed.links) == sorted(d["path"] for d in manifest["documents"])
    assert all(link in archive.namelist() for link in parsed.links)
    # Titles are text, never markup.
    assert parsed.scripts == 0 and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in fr
    assert '<html lang="fr">' in fr and "Mon dossier Carnet" in fr
    assert "Consultation de la liste des documents" in fr and "refusé — " in fr
    _, en = page({"accept-language": "en"})
    assert '<html lang="en">' in en and "My Carnet record" in en and "Document list view" in en


def test_every_recorded_action_has_words_for_the_export():
    import re
    from pathlib import Path

    from backend.access import history

    root = Path(__file__).resolve().parents[1] / "backend"
    stored = set()
    for path in root.rglob("*.py"):
        stored |= set(re.findall(
            r'"((?:card|documents?|delegation|patient|record|temporary_access|emergency)\.[a-z_]+)"',
            path.read_text()))
    assert {"card.verify", "document.read"} <= stored
    assert sorted(stored - set(history.ACTIONS)) == []


def test_the_export_carries_the_prescriptions_and_the_conversations(demo_apis):
    camille = demo_apis["camille"]
    person = next(p["id"] for p in camille.get("/api/me").json()["profiles"] if p["relation"] == "self")
    r = camille.get(f"/api/profiles/{person}/export")
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    prescriptions = json.loads(archive.read("prescriptions.json"))
    assert len(prescriptions) == 2 and all(p["number"] and p["lines"] for p in prescriptions)
    dispensed = [line for p in prescriptions for line in p["lines"] if line["dispenses"]]
    assert dispensed and dispensed[0]["status"] == "partly_dispensed"
    [conversation] = json.loads(archive.read("conversations.json"))
    texts = [m["text"] for m in conversation["messages"]]
    assert texts[0] == "Bonjour, je passe vers 18h." and "prête" in texts[-1]  # oldest first, in clear
    assert conversation["messages"][0]["references"][0]["kind"] == "prescription"
