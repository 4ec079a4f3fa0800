"""The leaks a review found in the record, each closed: export, duplicate check, audit outcomes,
LIKE wildcards, accents, the patient-search oracle, paging overflow, the unaudited export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from backend import demo
from backend.access import history
from tests.docworld import pdf, row_of
from tests.factories import import_persons, person_row

PROBLEM = "application/problem+json"


def events(run, person_id, **filters) -> list[dict]:
    """The person's access history as stored (every event, newest first)."""
    return run(history.history, person_id, limit=1000, **filters)


def exported_titles(api, person_id) -> set[str]:
    r = api.get(f"/api/profiles/{person_id}/export")
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["documents"]:
            archive.read(entry["path"])  # every listed file is in the archive
    return {d["title"] for d in manifest["documents"]}


def test_parent_export_leaves_out_the_minor_secret(world, make_api, run, settings):
    parent = world.patient
    titles = exported_titles(parent.api, world.child_id)
    assert "Consultation enfant" in titles
    assert "Consultation confidentielle" not in titles


def test_own_export_leaves_out_a_document_not_yet_announced_then_includes_it(world):
    api, pid = world.patient.api, world.patient.person_id
    assert "Résultat à annoncer" not in exported_titles(api, pid)
    gp = world.pros["gp"]
    assert gp.api.post(f"/api/pro/documents/{world.docs['unannounced']}/announce").status_code == 200
    assert "Résultat à annoncer" in exported_titles(api, pid)


def test_export_is_recorded_in_the_access_history(world, run):
    before = len(events(run, world.child_id))
    exported_titles(world.patient.api, world.child_id)
    latest = events(run, world.child_id)
    assert len(latest) == before + 1
    assert latest[0]["action"] == "record.export" and latest[0]["outcome"] == "allowed"
    assert latest[0]["actor_kind"] == "parent"


def test_duplicate_check_never_names_a_document_the_professional_cannot_see(world, run):
    prow = run(row_of, world.patient.person_id)
    podiatrist = world.pros["podiatrist"]
    pid = world.patient.person_id
    assert podiatrist.api.get(f"/api/pro/patients/{pid}/documents").status_code == 404
    same_bytes = pdf(f"Synthèse psychiatrique {prow['nir']}")  # the GP's psychiatric summary, byte for byte
    form = {"ins": prow["nir"], "birth_name": prow["birth_name"], "first_name": prow["first_name"],
            "birth_date": str(prow["birth_date"]), "sex": prow["sex"], "type_code": "11488-4",
            "title": "Compte rendu podologique", "care_date": "2026-10-02"}
    r = podiatrist.api.post("/api/pro/documents", data=form, files={"file": ("a.pdf", same_bytes, "application/pdf")})
    assert r.status_code == 201, r.text
    assert "psychiatrique" not in r.text
    # The GP, who sees the summary, is told it is already there.
    gp = world.pros["gp"]
    r = gp.api.post("/api/pro/documents", data=form, files={"file": ("a.pdf", same_bytes, "application/pdf")})
    assert r.status_code == 409 and "Synthèse psychiatrique" in r.json()["detail"]


def test_refused_manage_actions_are_recorded_as_refused(world, run):
    pid = world.patient.person_id
    caregiver = world.citizens["caregiver"]
    doc = world.docs["lab"]
    assert caregiver.api.delete(f"/api/documents/{doc}").status_code == 404
    [last] = events(run, pid)[:1]
    assert (last["action"], last["outcome"], last["resource"]) == ("document.delete", "refused", doc)
    granted = world.pros["granted"]  # sees the document, did not write it
    assert granted.api.post(f"/api/pro/documents/{world.docs['consultation']}/archive").status_code == 404
    [last] = events(run, pid)[:1]
    assert (last["action"], last["outcome"]) == ("document.archive", "refused")
    assert last["purpose"] == "not the author"
    no_allowed_manage = [e for e in events(run, pid) if e["action"] in ("document.delete", "document.archive")
                         and e["outcome"] == "allowed"]
    assert no_allowed_manage == []


def test_citizen_cannot_delete_a_professional_document_and_it_is_recorded_for_a_parent(world, run):
    r = world.patient.api.delete(f"/api/documents/{world.docs['child_visit']}")
    assert r.status_code == 409
    [last] = events(run, world.child_id)[:1]
    assert (last["action"], last["outcome"], last["actor_kind"]) == ("document.delete", "refused", "parent")


@pytest.mark.parametrize("field", ["q", "author"])
@pytest.mark.parametrize("term", ["%", "_", "__", "\\"])
def test_search_wildcards_are_taken_literally(world, field, term):
    api, pid = world.patient.api, world.patient.person_id
    r = api.post(f"/api/profiles/{pid}/documents/search", json={field: term})
    assert r.status_code == 200
    assert r.json()["total"] == 0


def test_title_search_with_a_literal_underscore(world):
    api, pid = world.patient.api, world.patient.person_id
    r = api.post(f"/api/profiles/{pid}/documents", data={"title": "Scan_2026 ordonnance"},
                 files={"file": ("s.pdf", pdf(), "application/pdf")})
    assert r.status_code == 201, r.text
    found = api.post(f"/api/profiles/{pid}/documents/search", json={"q": "scan_2026"}).json()
    assert [d["title"] for d in found["items"]] == ["Scan_2026 ordonnance"]
    assert api.post(f"/api/profiles/{pid}/documents/search", json={"q": "scan%2026"}).json()["total"] == 0


@pytest.mark.parametrize("author", ["généraliste", "GÉNÉRALISTE", "Generaliste", "test général"])
def test_author_search_ignores_accents_and_case(world, author):
    api, pid = world.patient.api, world.patient.person_id
    r = api.post(f"/api/profiles/{pid}/documents/search", json={"author": author, "page_size": 100})
    assert r.status_code == 200
    authors = {d["author"] for d in r.json()["items"]}
    assert authors == {"Test GENERALISTE"}


def _search(pro, row: dict, **over):
    body = {"ins": row["nir"], "birth_name": row["birth_name"], "first_name": row["first_names"][0]
            if "first_names" in row else row["first_name"], "birth_date": str(row["birth_date"]),
            "sex": row["sex"], **over}
    return pro.api.post("/api/pro/patients/search", json=body)


def test_patient_search_is_not_an_oracle(world, run, settings):
    stranger = world.pros["stranger"]
    prow = run(row_of, world.patient.person_id)
    vali = person_row(identity_status="VALI")
    import_persons(run, settings, [vali])
    # Only the whole matching identity earns the precise reason.
    full = _search(stranger, vali)
    assert full.status_code == 422 and "statut VALI" in full.json()["detail"]
    unknown = person_row()  # valid NIR, never imported
    answers = [
        _search(stranger, unknown),
        _search(stranger, prow, birth_date="1901-01-01"),
        _search(stranger, prow, birth_name="AUTRE"),
    ]
    assert {r.status_code for r in answers} == {422}
    assert len({r.json()["detail"] for r in answers}) == 1
    assert "birth_date" not in answers[1].text and "INS inconnu" not in answers[0].text
    # The failed attempt on an existing record shows in that record's history.
    [last] = events(run, world.patient.person_id)[:1]
    assert (last["action"], last["outcome"], last["actor_label"]) == (
        "patient.identify", "refused", stranger.name)


def test_patient_search_is_throttled_per_professional(world, main_client, run, settings):
    from tests.docworld import make_pro

    pro = make_pro(main_client, run, settings, "21", "SONDEUR")
    prow = run(row_of, world.patient.person_id)
    statuses = [_search(pro, prow, birth_date=f"19{n:02d}-01-01").status_code for n in range(12)]
    assert 429 in statuses
    assert statuses[:3] == [422, 422, 422]
    # Even the right identity is refused while the professional is locked out.
    assert _search(pro, prow).status_code == 429


@pytest.mark.parametrize("page", ["9223372036854775807", "10001", "0", "-1"])
def test_absurd_page_numbers_are_a_clear_400(world, page):
    pid = world.patient.person_id
    for api, url in ((world.patient.api, f"/api/profiles/{pid}/documents"),
                     (world.pros["gp"].api, f"/api/pro/patients/{pid}/documents")):
        r = api.get(url, params={"page": page})
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
    r = world.patient.api.post(f"/api/profiles/{pid}/documents/search", json={"page": int(page)})
    assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM)


def test_operator_import_checks_titles_and_records_the_event(world, run, settings, tmp_path):
    from backend.documents.operator import import_documents

    prow = run(row_of, world.patient.person_id)
    (tmp_path / "a.pdf").write_bytes(pdf())
    (tmp_path / "b.pdf").write_bytes(pdf())
    entry = {"ins": prow["nir"], "birth_name": prow["birth_name"], "first_name": prow["first_name"],
             "birth_date": str(prow["birth_date"]), "sex": prow["sex"], "type_code": "11488-4",
             "care_date": "2026-09-01", "author": "Assurance Maladie"}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{**entry, "file": "a.pdf", "title": "\x00\x07"},
                                    {**entry, "file": "b.pdf", "title": "Relevé de remboursements"}]))
    report = run(import_documents, settings, manifest)
    assert [r["status"] for r in report] == ["rejected", "created"]
    assert "Titre invalide" in report[0]["reason"]
    [last] = events(run, world.patient.person_id)[:1]
    assert (last["action"], last["actor_kind"], last["resource"]) == (
        "document.add", "operator", str(report[1]["document"]))


def test_demo_world_is_seeded_through_the_repository(main_client, make_api):
    from tests.factories import login_demo

    camille = login_demo(make_api, "camille")
    me = camille.get("/api/me").json()
    leo = next(p for p in me["profiles"] if p["first_name"] == "Léo")
    titles = {d["title"] for d in camille.get(f"/api/profiles/{leo['id']}/documents").json()["items"]}
    assert "Consultation pédiatrique" in titles and "Consultation confidentielle" not in titles
    assert demo.CAMILLE


@pytest.mark.parametrize("path", ["/api/profiles/{pid}/documents/search", "/api/profiles/{pid}/privacy",
                                  "/api/pro/patients/search"])
def test_deeply_nested_json_is_a_clear_400(world, path):
    body = b'{"q": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    api = world.pros["gp"].api if "/pro/" in path else world.patient.api
    r = api.post(path.format(pid=world.patient.person_id), content=body,
                 headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "imbriqué" in r.json()["detail"]


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"text"', b'{"q": 1e999999}', b"\xff\xfe"])
def test_malformed_json_bodies_are_a_clear_400(world, body):
    r = world.patient.api.post(f"/api/profiles/{world.patient.person_id}/documents/search", content=body,
                               headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
