"""Secure messaging: a profile and a pharmacy (or a professional), both sides, and who may not."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from pathlib import Path

import pyotp
import pytest

from backend import demo
from backend.access import history
from backend.access.tables import Delegation
from backend.accounts.services import open_pro_account
from backend.accounts.tables import UserSession
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import InvalidRequest, Unprocessable
from backend.messaging import services
from backend.professionals.directory import import_directory, search_structures
from backend.professionals.identifiers import luhn_check_digit
from tests.conftest import BACKEND, Api
from tests.docworld import make_pro, pdf
from tests.factories import fresh_rpps, fresh_totp

PROBLEM = "application/problem+json"
SECRET_TEXT = "Mon traitement pour la tension me donne des vertiges"


# --- helpers --------------------------------------------------------------------------------


def fresh_sessions(run) -> None:
    """The restored logins were active and proved just now (a long suite may outlast the idle limit)."""
    now = utcnow()
    run(lambda: UserSession.update({UserSession.authenticated_at: now, UserSession.last_seen_at: now}).where(
        UserSession.stage == "active"))


@pytest.fixture
def apis(demo_apis, run):
    fresh_sessions(run)
    return demo_apis


def me(api) -> str:
    return next(p["id"] for p in api.get("/api/me").json()["profiles"] if p["relation"] == "self")


def child_of(api) -> str:
    return next(p["id"] for p in api.get("/api/me").json()["profiles"] if p["relation"] == "parent")


def gare(run) -> str:
    [found] = [s for s in run(search_structures, "Pharmacie de la Gare") if s["name"] == "Pharmacie de la Gare"]
    return str(found["id"])


def start(api, person_id: str, structure_id: str, text: str = "Bonjour, mon ordonnance est-elle prête ?",
          **extra):
    return api.post(f"/api/profiles/{person_id}/threads", json={"structure_id": structure_id, "text": text,
                                                               **extra})


def started(api, person_id: str, structure_id: str, **extra) -> dict:
    r = start(api, person_id, structure_id, **extra)
    assert r.status_code == 201, r.text
    return r.json()


def post(api, thread_id: str, text: str, **extra):
    return api.post(f"/api/threads/{thread_id}/messages", json={"text": text, **extra})


def events_since(run, person_id: str, last: int) -> list[dict]:
    return [e for e in run(history.history, uuid.UUID(person_id), limit=history.MAX_LIMIT) if e["id"] > last]


def last_event(run) -> int:
    return run(database.fetch, "SELECT COALESCE(MAX(id), 0) AS n FROM access_event")[0]["n"]


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


def login_pro(make_api, rpps: str, secret: str):
    api = make_api()
    r = api.post("/api/auth/login", json={"identifier": rpps, "password": demo.DEMO_PASSWORD, "kind": "pro"})
    assert r.status_code == 200, r.text
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(secret)})
    assert r.status_code == 200, r.text
    return api


def new_pharmacy(main_client, run, settings, names=("UN", "DEUX")) -> tuple[str, list]:
    """A fresh pharmacy (FINESS) with logged-in pharmacists: (structure id, their APIs)."""
    body = f"75{random.randint(0, 999999):06d}"
    finess = body + luhn_check_digit(body)
    apis = []
    for name in names:
        rpps = fresh_rpps()
        [res] = run(import_directory, settings, [{
            "rpps": rpps, "last_name": name, "first_name": "Test", "profession_code": "21",
            "structure_name": f"Pharmacie {finess}", "structure_kind": "pharmacy", "finess": finess,
            "postcode": "75010", "commune": "Paris", "address": "1 rue du Test"}], open_pro_account)
        assert res.status in ("created", "updated"), res
        secret = pyotp.random_base32()
        run(demo._credentials, settings, "pro", rpps, secret)
        apis.append(login_pro(lambda lang="fr": Api(main_client, lang), rpps, secret))
    [found] = [s for s in run(search_structures, f"Pharmacie {finess}") if s["finess"] == finess]
    return str(found["id"]), apis


def second_pharmacist(make_api, main_client, run, settings):
    """Bruno OFFICINE's colleague in the demo pharmacy (the demo's own, or one added here)."""
    rpps = getattr(demo, "PHARMACIST2_RPPS", None)
    if rpps and "pharmacist2" in demo.TOTP_SECRETS:
        return login_pro(make_api, rpps, demo.TOTP_SECRETS["pharmacist2"])
    gare_finess = next(s["finess"] for s in run(search_structures, "Pharmacie de la Gare"))
    rpps = fresh_rpps()
    run(import_directory, settings, [{"rpps": rpps, "last_name": "COMPTOIR", "first_name": "Inès",
                                      "profession_code": "21", "structure_name": "Pharmacie de la Gare",
                                      "finess": gare_finess}], open_pro_account)
    secret = pyotp.random_base32()
    run(demo._credentials, settings, "pro", rpps, secret)
    return login_pro(make_api, rpps, secret)


def jpeg_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def message_blobs(settings) -> set[str]:
    root = Path(settings.blob_dir) / "messaging"
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# --- starting and replying ------------------------------------------------------------------


def test_a_citizen_writes_to_a_pharmacy_and_both_sides_reply(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    pid, pharmacy = me(camille), gare(run)
    thread = started(camille, pid, pharmacy, subject="Renouvellement")
    assert thread["counterpart"] == {"kind": "structure", "id": pharmacy, "name": "Pharmacie de la Gare"}
    assert thread["subject"] == "Renouvellement" and thread["status"] == "open" and thread["side"] == "citizen"
    [first] = thread["messages"]
    assert first["author"] == "Camille INVENTÉE" and first["on_behalf_of"] is None and first["mine"]
    assert first["text"] == "Bonjour, mon ordonnance est-elle prête ?" and not first["read_by_recipient"]

    inbox = bruno.get("/api/pro/threads").json()
    assert inbox["structure"]["id"] == pharmacy and inbox["structure"]["kind"] == "pharmacy"
    [item] = [t for t in inbox["items"] if t["id"] == thread["id"]]
    assert item["unread"] == 1 and item["person_name"] == "Camille INVENTÉE" and item["side"] == "pro"
    reply = post(bruno, thread["id"], "Oui, elle vous attend au comptoir.")
    assert reply.status_code == 201, reply.text
    assert reply.json()["author"] == "Bruno OFFICINE (Pharmacie de la Gare)" and reply.json()["side"] == "pro"
    again = post(camille, thread["id"], "Merci, je passe ce soir.")
    assert again.status_code == 201, again.text

    seen = camille.get(f"/api/threads/{thread['id']}").json()
    assert [m["text"] for m in seen["messages"]] == [
        "Merci, je passe ce soir.", "Oui, elle vous attend au comptoir.", "Bonjour, mon ordonnance est-elle prête ?"]
    assert [m["mine"] for m in seen["messages"]] == [True, False, True]
    listed = camille.get(f"/api/profiles/{pid}/threads").json()
    assert [t["id"] for t in listed["items"]][0] == thread["id"]


def test_a_citizen_may_start_with_a_pharmacy_only(apis, run):
    camille, gp = apis["camille"], apis["gp"]
    practice = gp.get("/api/pro/me").json()["structure"]
    assert practice["kind"] != "pharmacy"
    body = problem(start(camille, me(camille), practice["id"]), 422)
    assert body["errors"][0]["field"] == "structure_id" and "pharmacie" in body["detail"]
    assert problem(start(camille, me(camille), str(uuid.uuid4())), 422)["errors"][0]["field"] == "structure_id"
    english = camille.post(f"/api/profiles/{me(camille)}/threads", headers={"accept-language": "en"},
                           json={"structure_id": practice["id"], "text": "Hello"})
    assert "pharmacy" in problem(english, 422)["detail"]


def test_a_parent_writes_for_a_minor_and_is_shown_writing_for_them(apis, run):
    camille = apis["camille"]
    child = child_of(camille)
    thread = started(camille, child, gare(run))
    [message] = thread["messages"]
    assert message["author"] == "Camille INVENTÉE" and message["on_behalf_of"].startswith("Léo")
    assert thread["person_id"] == child
    [event] = [e for e in run(history.history, uuid.UUID(child)) if e["action"] == "thread.start"]
    assert event["actor_kind"] == "parent" and event["outcome"] == "allowed"


def test_a_professional_with_a_basis_starts_a_thread_and_the_citizen_is_told_who_wrote(apis, run):
    camille, gp = apis["camille"], apis["gp"]
    pid = me(camille)
    r = gp.post("/api/pro/threads", json={"person_id": pid, "subject": "Résultats", "text": SECRET_TEXT})
    assert r.status_code == 201, r.text
    thread = r.json()
    assert thread["counterpart"]["kind"] == "professional" and thread["side"] == "pro"
    assert thread["counterpart"]["name"].startswith("Alice MÉDECIN")
    listed = camille.get(f"/api/profiles/{pid}/threads").json()
    [item] = [t for t in listed["items"] if t["id"] == thread["id"]]
    assert item["unread"] == 1 and listed["unread_total"] >= 1
    notes = [n for n in camille.get(f"/api/profiles/{pid}/notifications").json() if n["kind"] == "notice.message"]
    assert notes and "Alice MÉDECIN" in notes[0]["text_fr"] and "Alice MÉDECIN" in notes[0]["text_en"]
    assert all(SECRET_TEXT not in n["text_fr"] + n["text_en"] and "Résultats" not in n["text_fr"] for n in notes)
    # The citizen replies in the professional's thread.
    assert post(camille, thread["id"], "Merci docteur.").status_code == 201


def test_a_professional_without_a_basis_is_refused_and_recorded(apis, main_client, run, settings):
    pid = me(apis["camille"])
    stranger = make_pro(main_client, run, settings, "10", "SANSLIEN")
    last = last_event(run)
    problem(stranger.api.post("/api/pro/threads", json={"person_id": pid, "text": "Bonjour"}), 404)
    [event] = events_since(run, pid, last)
    assert (event["action"], event["outcome"], event["purpose"]) == ("thread.start", "refused", NO_BASIS)
    # Nor can they read a thread they are not part of; a citizen is refused with 403.
    thread = started(apis["camille"], pid, gare(run))
    last = last_event(run)
    problem(stranger.api.get(f"/api/threads/{thread['id']}"), 404)
    problem(post(stranger.api, thread["id"], "Je m'invite"), 404)
    assert [(e["action"], e["purpose"]) for e in events_since(run, pid, last)] == [
        ("thread.reply", NO_BASIS), ("thread.read", NO_BASIS)]
    problem(apis["camille"].post("/api/pro/threads", json={"person_id": pid, "text": "x"}), 403)


NO_BASIS = "no care relationship"


def test_a_professional_with_a_basis_still_cannot_read_another_professionals_thread(apis, run):
    camille, gp = apis["camille"], apis["gp"]
    pid = me(camille)
    thread = started(camille, pid, gare(run))
    last = last_event(run)
    problem(gp.get(f"/api/threads/{thread['id']}"), 404)
    [event] = events_since(run, pid, last)
    assert (event["action"], event["outcome"], event["purpose"]) == (
        "thread.read", "refused", "not a thread participant")
    assert thread["id"] not in [t["id"] for t in gp.get("/api/pro/threads").json()["items"]]


def test_a_blocked_pharmacist_loses_the_thread_and_the_colleague_keeps_it(apis, make_api, main_client, run,
                                                                           settings):
    camille, bruno = apis["camille"], apis["pharmacist"]
    colleague = second_pharmacist(make_api, main_client, run, settings)
    pid = me(camille)
    thread = started(camille, pid, gare(run))
    assert colleague.get(f"/api/threads/{thread['id']}").status_code == 200
    assert camille.post(f"/api/profiles/{pid}/blocks", json={"rpps": demo.PHARMACIST_RPPS}).status_code == 204
    last = last_event(run)
    problem(bruno.get(f"/api/threads/{thread['id']}"), 404)
    problem(post(bruno, thread["id"], "Bonjour"), 404)
    assert [(e["action"], e["outcome"], e["purpose"]) for e in events_since(run, pid, last)] == [
        ("thread.reply", "refused", "blocked"), ("thread.read", "refused", "blocked")]
    assert thread["id"] not in [t["id"] for t in bruno.get("/api/pro/threads").json()["items"]]
    assert post(colleague, thread["id"], "Votre commande est prête.").status_code == 201
    # The blocked pharmacist is not even told about new messages of that patient.
    assert bruno.get("/api/messaging/unread").json()["total"] == 0


def test_the_pharmacy_inbox_is_shared_by_its_pharmacists(apis, make_api, main_client, run, settings):
    camille, bruno = apis["camille"], apis["pharmacist"]
    colleague = second_pharmacist(make_api, main_client, run, settings)
    pid = me(camille)
    thread = started(camille, pid, gare(run))
    for pharmacist in (bruno, colleague):
        [item] = [t for t in pharmacist.get("/api/pro/threads").json()["items"] if t["id"] == thread["id"]]
        assert item["unread"] == 1
    assert post(colleague, thread["id"], "Je m'en occupe.").status_code == 201
    # The shared inbox has one read marker: the colleague's reply read it for the pharmacy.
    [item] = [t for t in bruno.get("/api/pro/threads").json()["items"] if t["id"] == thread["id"]]
    assert item["unread"] == 0
    seen = bruno.get(f"/api/threads/{thread['id']}").json()
    assert seen["messages"][0]["author"].startswith("Inès COMPTOIR") or seen["messages"][0]["author"].startswith(
        "Test COMPTOIR") or "COMPTOIR" in seen["messages"][0]["author"]
    assert seen["messages"][0]["mine"]  # the pharmacy's side


def test_a_caregiver_needs_the_messaging_scope(apis, run):
    camille, dominique, bruno = apis["camille"], apis["dominique"], apis["pharmacist"]
    pid = me(camille)
    problem(dominique.get(f"/api/profiles/{pid}/threads"), 404)
    problem(start(dominique, pid, gare(run)), 404)
    thread = started(camille, pid, gare(run))
    problem(dominique.get(f"/api/threads/{thread['id']}"), 404)

    run(lambda: Delegation.update({Delegation.scopes: ["present_card", "messaging"]}).where(
        Delegation.owner == uuid.UUID(pid)))
    own = started(dominique, pid, gare(run), text="J'écris pour Camille.")
    [message] = own["messages"]
    assert message["author"] == "Dominique EXEMPLE" and message["on_behalf_of"] == "Camille INVENTÉE"
    assert dominique.get(f"/api/threads/{thread['id']}").status_code == 200
    seen = bruno.get(f"/api/threads/{own['id']}").json()["messages"][0]
    assert (seen["author"], seen["on_behalf_of"]) == ("Dominique EXEMPLE", "Camille INVENTÉE")
    kinds = {(e["action"], e["actor_kind"]) for e in run(history.history, uuid.UUID(pid), limit=100)}
    assert ("thread.start", "delegate") in kinds and ("thread.read", "delegate") in kinds


# --- closing, limits, validation ------------------------------------------------------------


def test_a_closed_thread_accepts_no_message(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    thread = started(camille, me(camille), gare(run))
    problem(camille.post(f"/api/threads/{thread['id']}/close"), 403)
    closed = bruno.post(f"/api/threads/{thread['id']}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closed_by"].startswith("Bruno OFFICINE")
    body = problem(post(camille, thread["id"], "Encore une question"), 409)
    assert "close" in body["detail"]
    problem(post(bruno, thread["id"], "Et moi ?"), 409)
    problem(bruno.post(f"/api/threads/{thread['id']}/close"), 409)
    assert camille.get(f"/api/threads/{thread['id']}").json()["status"] == "closed"


def test_a_text_of_5001_characters_is_refused_naming_the_field(apis, run):
    camille = apis["camille"]
    thread = started(camille, me(camille), gare(run))
    assert post(camille, thread["id"], "é" * 5000).status_code == 201
    body = problem(post(camille, thread["id"], "x" * 5001), 400)
    assert body["errors"][0]["field"] == "text"
    body = problem(camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": "x" * 5001},
                                files={"file": ("o.pdf", pdf(), "application/pdf")}), 422)
    assert body["errors"][0]["field"] == "text"
    assert problem(post(camille, thread["id"], "   "), 422)["errors"][0]["field"] == "text"
    body = problem(start(camille, me(camille), gare(run), text="y" * 5001), 400)
    assert body["errors"][0]["field"] == "text"


def test_too_many_messages_are_refused_with_retry_after(apis, run):
    camille = apis["dominique"]  # Camille already wrote to her pharmacy in the demo world
    thread = started(camille, me(camille), gare(run))
    for i in range(services.MESSAGES_PER_WINDOW["citizen"] - 1):
        assert post(camille, thread["id"], f"message {i}").status_code == 201
    r = post(camille, thread["id"], "un de trop")
    problem(r, 429)
    assert 0 < int(r.headers["retry-after"]) <= 600


def test_too_many_new_threads_are_refused(apis, run):
    camille = apis["dominique"]
    pid, pharmacy = me(camille), gare(run)
    for _ in range(services.THREADS_PER_WINDOW["citizen"]):
        started(camille, pid, pharmacy)
    r = start(camille, pid, pharmacy)
    problem(r, 429)
    assert int(r.headers["retry-after"]) > 0


# --- attachments ----------------------------------------------------------------------------


def test_a_disguised_executable_is_refused_and_nothing_is_stored(apis, run, settings):
    camille = apis["camille"]
    thread = started(camille, me(camille), gare(run))
    before = message_blobs(settings)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    r = camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": "Voici la photo"},
                     files={"file": ("ordonnance.jpg", exe, "image/jpeg")})
    assert problem(r, 415)["errors"][0]["field"] == "file"
    text = camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": "Voici"},
                        files={"file": ("note.txt", b"juste du texte", "text/plain")})
    problem(text, 415)
    assert message_blobs(settings) == before
    assert len(camille.get(f"/api/threads/{thread['id']}").json()["messages"]) == 1


def test_a_photo_is_cleaned_stored_encrypted_and_downloadable_by_the_pharmacy(apis, run, settings):
    camille, bruno = apis["camille"], apis["pharmacist"]
    thread = started(camille, me(camille), gare(run))
    photo = jpeg_bytes()
    r = camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": "La photo"},
                     files={"file": ("ordonnance secrète.jpeg", photo, "image/jpeg")})
    assert r.status_code == 201, r.text
    [attachment] = r.json()["attachments"]
    assert attachment["media_type"] == "image/jpeg" and attachment["source"] == "file"
    assert attachment["filename"] == "ordonnance secrète.jpg"
    got = bruno.get(f"/api/messaging/attachments/{attachment['id']}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("image/jpeg")
    assert got.headers["cache-control"] == "no-store" and got.content[:3] == b"\xff\xd8\xff"
    for blob in message_blobs(settings):
        assert b"\xff\xd8\xff" not in Path(blob).read_bytes()[:64]
    rows = run(database.fetch, "SELECT filename FROM message_attachment WHERE id = {}",
               uuid.UUID(attachment["id"]))
    assert "ordonnance" not in rows[0]["filename"]


def test_a_record_document_is_copied_and_the_pharmacist_reads_the_copy_only(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    pid = me(camille)
    doc = camille.get(f"/api/profiles/{pid}/documents").json()["items"][0]
    original = camille.get(f"/api/documents/{doc['id']}/content").content
    thread = started(camille, pid, gare(run), document_ids=[doc["id"]])
    [attachment] = thread["messages"][0]["attachments"]
    assert attachment["source"] == "document" and attachment["filename"] == doc["filename"]
    got = bruno.get(f"/api/messaging/attachments/{attachment['id']}")
    assert got.status_code == 200 and got.content == original
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-type"].startswith(doc["media_type"])
    problem(bruno.get(f"/api/documents/{doc['id']}"), 404)
    problem(bruno.get(f"/api/documents/{doc['id']}/content"), 404)
    # A document of another record (the child's) cannot be attached to this profile's thread.
    child_doc = camille.get(f"/api/profiles/{child_of(camille)}/documents").json()["items"]
    if child_doc:
        body = problem(post(camille, thread["id"], "Et celui-ci", document_ids=[child_doc[0]["id"]]), 422)
        assert body["errors"][0]["field"] == "document_ids"
    body = problem(post(camille, thread["id"], "Inconnu", document_ids=[str(uuid.uuid4())]), 422)
    assert body["errors"][0]["field"] == "document_ids"
    # Someone outside the thread cannot fetch the copy.
    problem(apis["gp"].get(f"/api/messaging/attachments/{attachment['id']}"), 404)
    problem(apis["dominique"].get(f"/api/messaging/attachments/{attachment['id']}"), 404)


# --- unread, receipts, pages ----------------------------------------------------------------


def test_unread_counts_and_read_receipts(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    pid = me(camille)
    thread = started(camille, pid, gare(run))
    tid = thread["id"]
    pro_before = bruno.get("/api/messaging/unread").json()["total"]
    assert pro_before >= 1
    r = bruno.post(f"/api/threads/{tid}/read")
    assert r.status_code == 200 and r.json()["unread"] == 0 and r.json()["side"] == "pro"
    assert bruno.get("/api/messaging/unread").json()["total"] == pro_before - 1
    seen = camille.get(f"/api/threads/{tid}").json()
    assert seen["messages"][0]["read_by_recipient"]  # "lu"
    assert seen["read_markers"]["pro"]["read_at"] is not None and seen["read_markers"]["pro"]["read_seq"] == 1

    before = camille.get("/api/messaging/unread").json()
    assert post(bruno, tid, "Réponse 1").status_code == 201
    assert post(bruno, tid, "Réponse 2").status_code == 201
    after = camille.get("/api/messaging/unread").json()
    assert after["total"] == before["total"] + 2
    assert {"person_id": pid, "unread": 2} in after["profiles"] or any(
        p["person_id"] == pid and p["unread"] >= 2 for p in after["profiles"])
    [item] = [t for t in camille.get(f"/api/profiles/{pid}/threads").json()["items"] if t["id"] == tid]
    assert item["unread"] == 2
    mine = bruno.get(f"/api/threads/{tid}").json()["messages"][0]
    assert mine["mine"] and not mine["read_by_recipient"]
    assert camille.post(f"/api/threads/{tid}/read").status_code == 200
    assert camille.get("/api/messaging/unread").json()["total"] == before["total"]
    assert bruno.get(f"/api/threads/{tid}").json()["messages"][0]["read_by_recipient"]


def test_long_threads_come_in_pages_newest_first(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    thread = started(camille, me(camille), gare(run), text="message 0")
    tid = thread["id"]
    for i in range(1, 25):
        assert post(bruno if i % 2 else camille, tid, f"message {i}").status_code == 201
    seen, before, pages = [], None, 0
    while True:
        params = {"limit": 10} | ({"before": before} if before else {})
        page = camille.get(f"/api/threads/{tid}", params=params).json()
        seen += [m["text"] for m in page["messages"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert pages == 3 and seen == [f"message {i}" for i in range(24, -1, -1)]
    first = camille.get(f"/api/threads/{tid}", params={"limit": 5}).json()["messages"]
    older = camille.get(f"/api/threads/{tid}", params={"before": first[-1]["sent_at"], "limit": 100}).json()
    assert [m["text"] for m in older["messages"]] == [f"message {i}" for i in range(19, -1, -1)]
    problem(camille.get(f"/api/threads/{tid}", params={"limit": 101}), 400)
    problem(camille.get(f"/api/threads/{tid}", params={"before": "pas un curseur"}), 400)
    problem(camille.get(f"/api/threads/{tid}", params={"before": str(uuid.uuid4())}), 422)


# --- at rest, notices, the service for other slices -----------------------------------------


def test_texts_and_subjects_are_encrypted_at_rest(apis, run, settings):
    camille = apis["camille"]
    subject = "Objet très personnel"
    thread = started(camille, me(camille), gare(run), text=SECRET_TEXT, subject=subject)
    rows = run(database.fetch, "SELECT body FROM thread_message WHERE thread = {}", uuid.UUID(thread["id"]))
    assert rows and all(SECRET_TEXT not in r["body"] and "vertiges" not in r["body"] for r in rows)
    [row] = run(database.fetch, "SELECT subject FROM message_thread WHERE id = {}", uuid.UUID(thread["id"]))
    assert subject not in row["subject"] and "personnel" not in row["subject"]
    if BACKEND == "sqlite":
        # The files are read by another process: opening and closing the live database file here
        # would drop this process's SQLite locks (POSIX advisory locks belong to the process), and
        # the next process to close its connection would take itself for the last one and remove
        # the write-ahead log under this one's feet.
        script = ("import pathlib, sys; p = sys.argv[1]; data = b''.join(pathlib.Path(p + s).read_bytes() "
                  "for s in ('', '-wal') if pathlib.Path(p + s).exists()); "
                  "print(any(w.encode() in data for w in sys.argv[2:]))")
        out = subprocess.run([sys.executable, "-c", script, settings.sqlite_path, "vertiges", subject],
                             capture_output=True, text=True, timeout=60, check=True)
        assert out.stdout.strip() == "False"


def test_the_pharmacy_writing_leaves_a_notice_naming_it_never_the_text(apis, run):
    camille, bruno = apis["camille"], apis["pharmacist"]
    pid = me(camille)
    thread = started(camille, pid, gare(run))
    assert post(bruno, thread["id"], SECRET_TEXT).status_code == 201
    notes = [n for n in camille.get(f"/api/profiles/{pid}/notifications").json() if n["kind"] == "notice.message"]
    assert notes[0]["text_fr"] == "Bruno OFFICINE (Pharmacie de la Gare) vous a envoyé un message."
    assert notes[0]["text_en"] == "Bruno OFFICINE (Pharmacie de la Gare) sent you a message."
    # The citizen's own messages leave no notice and no access event.
    count = len(notes)
    last = last_event(run)
    assert post(camille, thread["id"], "Merci").status_code == 201
    camille.get(f"/api/threads/{thread['id']}")
    assert len([n for n in camille.get(f"/api/profiles/{pid}/notifications").json()
                if n["kind"] == "notice.message"]) == count
    assert events_since(run, pid, last) == []
    # The pharmacist's read is recorded.
    bruno.get(f"/api/threads/{thread['id']}")
    assert [(e["action"], e["actor_kind"]) for e in events_since(run, pid, last)] == [("thread.read", "pro")]


def test_the_send_service_carries_a_reference_to_the_pharmacy(apis, run, settings):
    camille, bruno = apis["camille"], apis["pharmacist"]
    pid = me(camille)
    [account] = run(database.fetch, "SELECT id FROM account WHERE person = {}", uuid.UUID(pid))
    actor = Actor(account_id=account["id"], kind="citizen", session_id="test", stage="active",
                  person_id=uuid.UUID(pid))
    ref = {"kind": "prescription", "ref": "01527BP22JCNZZYGHZ", "title": "Ordonnance du 01/12/2026"}
    thread = run(services.send, settings, actor, uuid.UUID(pid), text="Voici mon ordonnance.",
                 structure_id=uuid.UUID(gare(run)), subject="Ordonnance", references=[ref])
    assert thread["subject"] == "Ordonnance" and thread["counterpart"]["kind"] == "structure"
    assert thread["messages"][0]["references"] == [ref]
    seen = bruno.get(f"/api/threads/{thread['id']}").json()
    assert seen["messages"][0]["references"] == [ref]
    again = run(services.send, settings, actor, uuid.UUID(pid), text="Et la suivante.",
                thread_id=thread["id"], references=[{**ref, "ref": "01527BP22JCNZZYGHA"}])
    assert again["id"] == thread["id"] and len(again["messages"]) == 2
    with pytest.raises(InvalidRequest):
        run(services.send, settings, actor, uuid.UUID(pid), text="x")
    with pytest.raises(Unprocessable):
        run(services.send, settings, actor, uuid.UUID(pid), text="x", structure_id=uuid.UUID(gare(run)),
            references=[{"kind": "autre", "ref": "1", "title": "t"}])
    [row] = run(database.fetch, "SELECT ref, title FROM message_attachment WHERE kind = 'reference' "
                                "AND thread = {} ORDER BY created_at LIMIT 1", thread["id"])
    assert "01527BP22JCNZZYGHZ" not in row["ref"] and "Ordonnance" not in row["title"]


def test_a_new_pharmacy_with_two_pharmacists_shares_one_inbox(apis, main_client, run, settings):
    structure_id, (first, second) = new_pharmacy(main_client, run, settings)
    camille = apis["camille"]
    thread = started(camille, me(camille), structure_id)
    assert thread["counterpart"]["id"] == structure_id
    for pharmacist in (first, second):
        assert thread["id"] in [t["id"] for t in pharmacist.get("/api/pro/threads").json()["items"]]
    # Bruno's pharmacy does not see it.
    assert thread["id"] not in [t["id"] for t in apis["pharmacist"].get("/api/pro/threads").json()["items"]]
    problem(apis["pharmacist"].get(f"/api/threads/{thread['id']}"), 404)


def test_no_text_subject_or_file_name_reaches_the_logs(apis, run, caplog):
    import logging

    camille, bruno = apis["camille"], apis["pharmacist"]
    caplog.set_level(logging.DEBUG)
    thread = started(camille, me(camille), gare(run), text=SECRET_TEXT, subject="Objet confidentiel")
    camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": SECRET_TEXT},
                 files={"file": ("nom-revelateur.jpg", jpeg_bytes(), "image/jpeg")})
    camille.post(f"/api/threads/{thread['id']}/messages/upload", data={"text": SECRET_TEXT},
                 files={"file": ("nom-revelateur.jpg", b"MZ" + b"\x00" * 64, "image/jpeg")})
    post(bruno, thread["id"], SECRET_TEXT)
    bruno.get(f"/api/threads/{thread['id']}")
    logged = caplog.text
    assert "/api/threads/{thread_id}/messages" in logged  # the route template, never the path
    for secret in ("vertiges", "Objet confidentiel", "nom-revelateur", thread["id"]):
        assert secret not in logged
