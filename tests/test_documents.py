"""The record: who sees which document, uploads, history (refused actors: test_refused_matrix.py)."""

from __future__ import annotations

import pytest

from backend.access import history
from backend.documents.services import fold
from tests.docworld import PDF, pdf, row_of

PROBLEM = "application/problem+json"


def titles(api, url, **filters) -> set[str]:
    if filters:
        r = api.post(url + "/search", json={"page_size": 100, **filters})
    else:
        r = api.get(url, params={"page_size": 100})
    assert r.status_code == 200, r.text
    return {d["title"] for d in r.json()["items"]}


def pro_list(world, who):
    return f"/api/pro/patients/{world.patient.person_id}/documents"


ALL = {"Ordonnance", "Bilan sanguin", "Synthèse psychiatrique", "Compte rendu d'accouchement",
       "Consultation", "Sérologie à masquer", "Radiographie"}


def test_citizen_sees_everything_announced_including_masked(world):
    seen = titles(world.patient.api, f"/api/profiles/{world.patient.person_id}/documents")
    assert seen == ALL  # not the document awaiting announcement


def test_registered_gp_sees_all_classes_and_masked(world):
    seen = titles(world.pros["gp"].api, pro_list(world, "gp"))
    assert seen == ALL | {"Résultat à annoncer"}  # the GP wrote it


def test_granted_physician_does_not_see_masked_or_unannounced(world):
    seen = titles(world.pros["granted"].api, pro_list(world, "granted"))
    assert seen == ALL - {"Sérologie à masquer"}


def test_professional_reads_the_patient_summary_only_with_a_basis(world):
    pid = world.patient.person_id
    r = world.pros["gp"].api.get(f"/api/pro/patients/{pid}")
    assert r.status_code == 200 and r.json()["basis"] == "gp" and r.json()["sex"] in ("M", "F")
    assert world.pros["stranger"].api.get(f"/api/pro/patients/{pid}").status_code == 404
    assert world.patient.api.get(f"/api/pro/patients/{pid}").status_code == 403


def test_author_without_relationship_sees_only_their_own(world):
    assert titles(world.pros["radiologist"].api, pro_list(world, "radiologist")) == {"Radiographie"}


def test_temporary_code_gives_the_pharmacist_the_matrix_view(world):
    pid = world.patient.person_id
    pharmacist = world.pros["pharmacist"]
    assert pharmacist.api.get(pro_list(world, "pharmacist")).status_code == 404
    code = world.patient.api.post(f"/api/profiles/{pid}/temporary-access",
                                  json={"minutes": 60, "label": "Pharmacie"}).json()["code"]
    r = pharmacist.api.post("/api/pro/temporary-access/redeem", json={"code": code})
    assert r.status_code == 200 and r.json()["id"] == pid
    # The pharmacist's row (access/matrix.json): all but psychiatry and psychology; a code never opens masking.
    assert titles(pharmacist.api, pro_list(world, "pharmacist")) == ALL - {"Synthèse psychiatrique",
                                                                           "Sérologie à masquer"}
    psych = world.docs["psych"]
    assert pharmacist.api.get(f"/api/documents/{psych}").status_code == 404
    listed = world.patient.api.get(f"/api/profiles/{pid}/temporary-access").json()
    assert listed[0]["state"] == "used"


def test_podiatrist_matrix_excludes_birth_reports(world):
    pid = world.patient.person_id
    podiatrist = world.pros["podiatrist"]
    code = world.patient.api.post(f"/api/profiles/{pid}/temporary-access", json={"minutes": 30}).json()["code"]
    assert podiatrist.api.post("/api/pro/temporary-access/redeem", json={"code": code}).status_code == 200
    seen = titles(podiatrist.api, pro_list(world, "podiatrist"))
    assert "Compte rendu d'accouchement" not in seen and "Synthèse psychiatrique" not in seen
    assert "Ordonnance" in seen and "Radiographie" in seen


def test_caregiver_with_scope_reads_and_adds_on_behalf(world):
    caregiver = world.citizens["caregiver"]
    pid = world.patient.person_id
    assert titles(caregiver.api, f"/api/profiles/{pid}/documents") == ALL
    r = caregiver.api.post(f"/api/profiles/{pid}/documents", data={"title": "Photo d'ordonnance"},
                           files={"file": ("scan.pdf", pdf(), "application/pdf")})
    assert r.status_code == 201, r.text
    assert " pour " in r.json()["added_by"]
    events = world.patient.api.get(f"/api/profiles/{pid}/access-history",
                                   params={"actor_kind": "delegate"}).json()["items"]
    added = [e for e in events if e["action"] == "document.add"]
    assert added and added[0]["on_behalf_of"] and added[0]["actor_label"] != added[0]["on_behalf_of"]


def test_parent_sees_child_documents_but_not_the_minor_secret(world):
    parent = world.patient.api
    seen = titles(parent, f"/api/profiles/{world.child_id}/documents")
    assert seen == {"Consultation enfant"}
    assert parent.get(f"/api/documents/{world.docs['child_secret']}").status_code == 404


def test_expired_and_revoked_temporary_codes(world, main_client):
    from datetime import timedelta

    from backend.access.tables import TemporaryAccess
    from backend.core.auth import utcnow

    pid = world.patient.person_id
    api = world.patient.api
    revoked = api.post(f"/api/profiles/{pid}/temporary-access", json={"minutes": 30}).json()
    assert api.delete(f"/api/temporary-access/{revoked['id']}").status_code == 204
    stranger = world.pros["stranger"].api
    assert stranger.post("/api/pro/temporary-access/redeem", json={"code": revoked["code"]}).status_code == 422
    good = api.post(f"/api/profiles/{pid}/temporary-access", json={"minutes": 30}).json()
    assert stranger.post("/api/pro/temporary-access/redeem", json={"code": good["code"]}).status_code == 200
    assert stranger.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    main_client.blocking_portal.call(lambda: TemporaryAccess.update(
        {TemporaryAccess.expires_at: utcnow() - timedelta(seconds=1)}).where(TemporaryAccess.id == good["id"]))
    assert stranger.get(f"/api/pro/patients/{pid}/documents").status_code == 404


def test_announcement_release_by_author(world):
    doc = world.docs["unannounced"]
    assert world.pros["granted"].api.post(f"/api/pro/documents/{doc}/announce").status_code == 404
    r = world.pros["gp"].api.post(f"/api/pro/documents/{doc}/announce")
    assert r.status_code == 200 and r.json()["announced"] is True
    assert world.patient.api.get(f"/api/documents/{doc}").status_code == 200


def test_emergency_access_and_opposition(world, make_api, run, settings):
    from tests.factories import activated_citizen

    pid = world.patient.person_id
    stranger = world.pros["stranger"].api
    good = {"context": "unconscious_patient", "reason": "Patient inconscient aux urgences, traitement ?"}
    r = stranger.post(f"/api/pro/patients/{pid}/emergency", json={**good, "reason": "court"})
    assert r.status_code == 422
    pharmacist = world.pros["pharmacist"].api
    r = pharmacist.post(f"/api/pro/patients/{pid}/emergency", json=good)
    assert r.status_code == 403
    opposed = activated_citizen(make_api, run, settings)
    opposed.api.post(f"/api/profiles/{opposed.person_id}/privacy", json={"emergency_access_opposed": True})
    r = stranger.post(f"/api/pro/patients/{opposed.person_id}/emergency", json=good)
    assert r.status_code == 403 and "opposé" in r.json()["detail"]
    r = stranger.post(f"/api/pro/patients/{pid}/emergency", json=good)
    assert r.status_code == 201
    seen = titles(stranger, f"/api/pro/patients/{pid}/documents")
    assert "Sérologie à masquer" not in seen and "Ordonnance" in seen
    notes = world.patient.api.get(f"/api/profiles/{pid}/notifications").json()
    assert any(n["kind"] == "access.emergency" for n in notes)
    events = world.patient.api.get(f"/api/profiles/{pid}/access-history",
                                   params={"actor_kind": "emergency"}).json()["items"]
    assert any(e["purpose"] == "patient hors d'état de consentir — " + good["reason"] for e in events)


def test_first_access_by_a_new_professional_notifies_the_citizen(world):
    notes = world.patient.api.get(f"/api/profiles/{world.patient.person_id}/notifications").json()
    assert any("GENERALISTE" in n["text_fr"] for n in notes)


def test_access_history_chain_verifies_and_detects_tampering(world, run):
    from backend.access.tables import AccessEvent

    count, broken = run(history.verify_chain)
    assert count > 10 and broken is None
    first = run(lambda: AccessEvent.select(AccessEvent.id, AccessEvent.purpose).where(
        AccessEvent.person == world.patient.person_id).order_by(AccessEvent.id).first())
    run(lambda: AccessEvent.update({AccessEvent.purpose: "edited"}).where(AccessEvent.id == first["id"]))
    try:
        _, broken = run(history.verify_chain)
        assert broken is not None and broken["id"] == first["id"]
    finally:
        run(lambda: AccessEvent.update({AccessEvent.purpose: first["purpose"]}).where(
            AccessEvent.id == first["id"]))
    assert run(history.verify_chain)[1] is None


def test_content_is_served_inline_sandboxed_and_as_download(world):
    api = world.patient.api
    doc = world.docs["lab"]
    r = api.get(f"/api/documents/{doc}/content")
    expected = pdf(f"Bilan sanguin {world.patient.nir}")
    assert r.status_code == 200 and r.content == expected
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline;")
    assert r.headers["cache-control"] == "no-store"
    r = api.get(f"/api/documents/{doc}/content", params={"download": True})
    assert r.headers["content-disposition"].startswith("attachment;")


def test_filters_search_sort_and_pagination(world):
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    bio = api.post(url + "/search", json={"category": "biologie"}).json()["items"]
    assert {d["category"] for d in bio} == {"biologie"}
    assert {"Bilan sanguin", "Sérologie à masquer"} <= {d["title"] for d in bio}
    assert titles(api, url, q="SEROLOGIE") == {"Sérologie à masquer"}  # accents and case folded
    assert titles(api, url, author="radio") == {"Radiographie"}
    page = api.post(url + "/search", json={"page_size": 2, "page": 2, "sort": "title"}).json()
    assert page["total"] >= 7 and len(page["items"]) == 2
    assert api.post(url + "/search", json={"sort": "nope"}).status_code == 400
    assert api.post(url + "/search", json={"q": "x", "injected": 1}).status_code == 400
    by_title = [d["title"] for d in api.post(url + "/search", json={"sort": "title", "page_size": 100}).json()["items"]]
    assert by_title == sorted(by_title, key=fold)


@pytest.mark.parametrize("name, body, status, rule", [
    ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 200, 415, "unsupported-format"),
    ("vide.pdf", b"", 422, "empty"),
    ("page.txt", b"<html><script>alert(1)</script></html>", 415, "unsupported-format"),
    ("../../etc/passwd", PDF, 422, "filename"),
    ("rapport\u202egpj.pdf", PDF, 422, "filename"),
])
def test_bad_uploads_are_refused_and_nothing_is_written(world, name, body, status, rule):
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    before = api.get(url).json()["total"]
    r = api.post(url, data={"title": "Essai"}, files={"file": (name, body, "application/pdf")})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert any(e.get("rule") == rule for e in r.json().get("errors", [])), r.json()
    assert api.get(url).json()["total"] == before


def test_duplicate_upload_is_refused_naming_the_existing_document(world):
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    body = pdf()
    assert api.post(url, data={"title": "Premier envoi"},
                    files={"file": ("a.pdf", body, "application/pdf")}).status_code == 201
    r = api.post(url, data={"title": "Second envoi"}, files={"file": ("b.pdf", body, "application/pdf")})
    assert r.status_code == 409 and "Premier envoi" in r.json()["detail"]
    assert r.json()["errors"][0]["rule"] == "duplicate"


def test_pixel_bomb_is_refused_before_decoding(world):
    import struct
    import zlib

    from PIL import Image

    buffer = __import__("io").BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", 100_000, 100_000) + png[24:29]
    png[16:29] = ihdr
    png[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    r = world.patient.api.post(f"/api/profiles/{world.patient.person_id}/documents", data={"title": "Bombe"},
                               files={"file": ("bombe.png", bytes(png), "image/png")})
    assert r.status_code == 413 and r.json()["errors"][0]["rule"] == "too-many-pixels"


def test_oversized_upload_and_unknown_type(world, settings):
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    big = b"%PDF-1.4\n" + b"0" * (settings.max_document_bytes + 10) + b"\n%%EOF\n"
    r = api.post(url, data={"title": "Gros"}, files={"file": ("gros.pdf", big, "application/pdf")})
    assert r.status_code == 413
    r = api.post(url, data={"title": "X", "type_code": "99999-9"},
                 files={"file": ("a.pdf", pdf(), "application/pdf")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "type_code"


def test_photo_upload_strips_location_and_idempotency_key(world):
    import io

    from PIL import Image

    image = Image.new("RGB", (64, 48), "teal")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    headers = {"Idempotency-Key": "photo-123"}
    files = {"file": ("IMG_0001.JPG", buffer.getvalue(), "image/jpeg")}
    first = api.post(url, data={"title": "Photo"}, files=files, headers=headers)
    assert first.status_code == 201, first.text
    again = api.post(url, data={"title": "Photo"}, files=files, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = api.post(url, data={"title": "Autre"}, files=files, headers=headers)
    assert other.status_code == 409
    content = api.get(f"/api/documents/{first.json()['id']}/content").content
    assert not Image.open(io.BytesIO(content)).getexif().get(0x8825)


def test_feed_refuses_wrong_traits_and_unqualified_identity(world, make_api, run, settings):
    from tests.factories import person_row

    gp = world.pros["gp"]
    row = run(row_of, world.patient.person_id)
    form = {"ins": row["nir"], "birth_name": "AUTRE", "first_name": row["first_name"],
            "birth_date": str(row["birth_date"]), "sex": row["sex"], "type_code": "11488-4",
            "title": "x", "care_date": "2026-10-01"}
    r = gp.api.post("/api/pro/documents", data=form, files={"file": ("a.pdf", pdf(), "application/pdf")})
    assert r.status_code == 422 and r.json()["detail"] == (
        "Aucun dossier ne correspond à cet INS et à ces traits d'identité.")
    vali = person_row(identity_status="VALI")
    from tests.factories import import_persons

    import_persons(run, settings, [vali])
    form.update(ins=vali["nir"], birth_name=vali["birth_name"], first_name=vali["first_names"][0],
                birth_date=vali["birth_date"], sex=vali["sex"])
    r = gp.api.post("/api/pro/documents", data=form, files={"file": ("a.pdf", pdf(), "application/pdf")})
    assert r.status_code == 422 and "Identité non qualifiée (statut VALI)" in r.json()["detail"]


def test_replace_keeps_the_previous_version_and_archive(world):
    gp = world.pros["gp"]
    doc = world.docs["consultation"]
    r = gp.api.post(f"/api/pro/documents/{doc}/replace", data={"title": "Consultation (corrigée)"},
                    files={"file": ("v2.pdf", pdf(), "application/pdf")})
    assert r.status_code == 201 and r.json()["version"] == 2
    assert world.patient.api.get(f"/api/documents/{doc}").status_code == 404  # replaced
    assert world.pros["radiologist"].api.post(f"/api/pro/documents/{r.json()['id']}/archive").status_code == 404
    assert gp.api.post(f"/api/pro/documents/{r.json()['id']}/archive").status_code == 204


def test_citizen_deletes_own_upload_but_not_a_professional_document(world):
    api = world.patient.api
    url = f"/api/profiles/{world.patient.person_id}/documents"
    own = api.post(url, data={"title": "À supprimer"}, files={"file": ("x.pdf", pdf(), "application/pdf")}).json()
    assert api.delete(f"/api/documents/{own['id']}").status_code == 204
    assert api.get(f"/api/documents/{own['id']}").status_code == 404
    assert api.delete(f"/api/documents/{world.docs['lab']}").status_code == 409


def test_research_choice_history(world):
    api = world.patient.api
    pid = world.patient.person_id
    api.post(f"/api/profiles/{pid}/privacy", json={"research_choice": "consent"})
    r = api.post(f"/api/profiles/{pid}/privacy", json={"research_choice": "objection"})
    assert r.json()["research_choice"] == "objection"
    choices = api.get(f"/api/profiles/{pid}/research-choices").json()
    assert [c["choice"] for c in choices[:2]] == ["objection", "consent"]
    assert world.citizens["other"].api.get(f"/api/profiles/{pid}/research-choices").status_code == 404
