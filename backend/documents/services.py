"""Document services: list, read, add (citizen, caregiver, professional feed), replace, hide, delete.

Every function takes the Actor, resolves its policy once and works through
the :class:`~backend.documents.repository.DocumentRepository` built from it,
so a document outside the policy is simply not found (404), never
"forbidden". Each request decides first, then records one access event with
its real outcome.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from backend.access import history
from backend.accounts import throttle
from backend.core.auth import Actor, utcnow
from backend.core.errors import CarnetError, Conflict, InvalidRequest, NotFound, Unprocessable
from backend.core.names import display_name
from backend.core.settings import Settings
from backend.core.text import fold
from backend.documents import audit
from backend.documents.blobstore import BlobIntegrityError, DirectoryBlobStore, StoredBlob
from backend.documents.catalogue import CATEGORIES, PATIENT_TYPE, TYPES, check_type
from backend.documents.ingest import Body, Submission, ingest
from backend.documents.policy import DocumentPolicy, policy_for
from backend.documents.repository import (
    SORTS,
    DocumentRepository,
    Filters,
    locate,
    referenced_blob_ids,
)
from backend.identity import people
from backend.identity.identifiers import validate_nir

__all__ = ["CATEGORIES", "PATIENT_TYPE", "TYPES", "check_type", "fold"]
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000


class DocumentDamaged(CarnetError):
    status_code = 500
    problem = "internal"


@lru_cache(maxsize=8)
def _store(root: str, key: bytes) -> DirectoryBlobStore:
    return DirectoryBlobStore(Path(root), key)


def blob_store(settings: Settings) -> DirectoryBlobStore:
    """The blob store of this deployment (a directory under the data directory)."""
    return _store(str(settings.blob_dir), settings.secrets.data_key)


def public(row: dict) -> dict:
    """A document's metadata as the API shows it."""
    hidden_until = row["patient_visible_after"]
    return {
        "id": row["id"],
        "person_id": row["person"],
        "type_code": row["type_code"],
        "type_label": TYPES.get(row["type_code"], {}).get("fr", row["type_code"]),
        "category": row["category"],
        "title": row["title"],
        "care_date": row["care_date"],
        "author": row["author_label"],
        "structure": row["structure_name"],
        "source": row["source"],
        "added_by": row["added_by"],
        "media_type": row["media_type"],
        "filename": row["filename"],
        "size": row["size"],
        "sha256": row.get("sha256"),
        "version": row["version"],
        "masked": bool(row["masked"]),
        "hidden_from_guardians": bool(row["hidden_from_guardians"]),
        "announced": hidden_until is None or hidden_until <= utcnow(),
        "created_at": row["created_at"],
    }


async def open_record(actor: Actor, person_id: UUID, action: str, resource: str = "", *,
                      write: bool = False, feed: bool = False, hidden: bool = False
                      ) -> tuple[DocumentRepository, audit.Who]:
    """The actor's repository on a person's documents; a refused professional is recorded once, then 404.

    Raises:
        NotFound: no right at all (another person, blocked, no basis, revoked delegation).
    """
    policy = await policy_for(actor, person_id, write=write, feed=feed)
    who = await audit.who(actor, policy)
    if policy.refused:
        await audit.record(who, person_id, action, resource, outcome="refused", purpose=policy.refusal or "",
                           hidden=hidden)
        raise NotFound()
    return DocumentRepository(policy), who


def _page_bounds(page: int, page_size: int) -> tuple[int, int]:
    if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Unprocessable(
            f"Pagination invalide : page de 1 à {MAX_PAGE}, taille de 1 à {MAX_PAGE_SIZE}.",
            detail_en=f"Invalid paging: page from 1 to {MAX_PAGE}, size from 1 to {MAX_PAGE_SIZE}.",
            errors=[{"field": "page", "rule": "range", "message": "hors limites",
                     "message_en": "out of range"}])
    return page, page_size


async def list_documents(
    actor: Actor,
    person_id: UUID,
    *,
    category: str | None = None,
    type_code: str | None = None,
    author: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str | None = None,
    sort: str = "-care_date",
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """A page of the documents the actor may see, filtered, sorted and counted."""
    if sort not in SORTS:
        raise InvalidRequest(f"Tri inconnu : {sort[:20]} (possibles : {', '.join(SORTS)}).",
                             detail_en=f"Unknown sort: {sort[:20]} (allowed: {', '.join(SORTS)}).",
                             errors=[{"field": "sort", "rule": "enum",
                                      "message": f"possibles : {', '.join(SORTS)}",
                                      "message_en": f"allowed: {', '.join(SORTS)}"}])
    page, page_size = _page_bounds(page, page_size)
    repo, who = await open_record(actor, person_id, "documents.list")
    filters = Filters(category, type_code, author, date_from, date_to, q)
    rows = await repo.page(filters, sort=sort, limit=page_size, offset=(page - 1) * page_size)
    total = await repo.count(filters)
    await audit.record(who, person_id, "documents.list")
    return {"items": [public(r) for r in rows], "total": total, "page": page, "page_size": page_size}


OUTSIDE = "outside the actor's rights"
NOT_CITIZENS = "not added by the citizen side"


def _refusal(row: dict | None, need: str, policy: DocumentPolicy) -> str | None:
    """Why the actor may not do ``need`` with this document (``None``: allowed)."""
    if row is None:
        return OUTSIDE
    if need in ("manage", "delete") and not policy.can_manage:
        return "not the record's owner"
    if need == "delete" and row["source"] != "citizen":
        return NOT_CITIZENS
    if need == "author" and not (policy.is_pro and row["author_professional"] == policy.professional_id):
        return "not the author"
    return None


async def decide(actor: Actor, doc_id: UUID, action: str, *, need: str = "read",
                 record_allowed: bool = True) -> tuple[dict, DocumentRepository, audit.Who]:
    """Find one document and decide whether the actor may do ``need`` with it, then record once.

    ``need`` is ``read``, ``manage`` (the citizen side), ``delete`` (the citizen
    side, its own uploads only) or ``author`` (the professional who wrote it).

    Raises:
        NotFound: the document is unknown or outside the actor's rights (recorded as refused).
        Conflict: the citizen side may not delete a professional's document (recorded as refused).
    """
    where = await locate(doc_id)
    if where is None:
        raise NotFound()
    hidden = where.hidden_from_guardians
    repo, who = await open_record(actor, where.person_id, action, str(doc_id), hidden=hidden)
    row = await repo.get(doc_id)
    reason = _refusal(row, need, repo.policy)
    if reason or record_allowed:
        await audit.record(who, where.person_id, action, str(doc_id), hidden=hidden,
                           outcome="refused" if reason else "allowed", purpose=reason or "")
    if reason == NOT_CITIZENS:
        raise Conflict(
            "Seuls les documents que vous avez ajoutés peuvent être supprimés ; masquez les autres.",
            detail_en="Only documents you added can be deleted; hide the others.")
    if reason:
        raise NotFound()
    assert row is not None
    return row, repo, who


async def get_document(actor: Actor, doc_id: UUID) -> dict:
    """One document's metadata, if the actor's policy includes it (else 404, recorded)."""
    row, _, _ = await decide(actor, doc_id, "document.read")
    return public(row)


async def read_content(settings: Settings, actor: Actor, doc_id: UUID) -> tuple[bytes, dict]:
    """The document's bytes, decrypted and checked against the recorded hash."""
    row, _, _ = await decide(actor, doc_id, "document.download")
    stored = StoredBlob(blob_id=row["blob_id"], wrapped_key=row["wrapped_key"], sha256=row["sha256"],
                        size=row["size"])
    try:
        data = await blob_store(settings).get(row["blob_id"], stored)
    except BlobIntegrityError as exc:
        raise DocumentDamaged("Ce document est endommagé et ne peut pas être affiché.",
                              detail_en="This document is damaged and cannot be shown.") from exc
    return data, row


async def _changed(repo: DocumentRepository, doc_id: UUID, changes: dict[str, Any], need: str) -> dict:
    if not await repo.change(doc_id, changes, need=need):
        raise NotFound()  # changed meanwhile (replaced, deleted)
    row = await repo.get(doc_id)
    if row is None:
        raise NotFound()
    return public(row)


async def add_citizen_document(
    settings: Settings, actor: Actor, person_id: UUID, body: Body, filename: str | None, *,
    title: str, type_code: str | None, care_date: date | None, idempotency_key: str | None,
) -> dict:
    """A document the citizen (or a parent, or a caregiver with the scope) adds to the record."""
    repo, who = await open_record(actor, person_id, "document.add", write=True)
    if repo.policy.is_pro or not repo.policy.can_add:
        raise NotFound()
    name = who.label if who.on_behalf_of is None else f"{who.label} pour {who.on_behalf_of}"
    sub = Submission(body=body, filename=filename, title=title, type_code=type_code or PATIENT_TYPE,
                     care_date=care_date or date.today(), author_label=name, added_by=name, source="citizen",
                     idempotency_key=idempotency_key, receipt_scope=str(actor.account_id))
    return public(await ingest(settings, blob_store(settings), repo, who, sub))


async def set_masked(actor: Actor, doc_id: UUID, masked: bool) -> dict:
    """Hide a document from professionals (its author and the GP still see it), or show it again."""
    _, repo, _ = await decide(actor, doc_id, "document.mask" if masked else "document.unmask", need="manage")
    return await _changed(repo, doc_id, {"masked": masked}, "manage")


async def delete_citizen_document(settings: Settings, actor: Actor, doc_id: UUID) -> None:
    """Delete a document the citizen's side added (professional documents are kept)."""
    row, repo, _ = await decide(actor, doc_id, "document.delete", need="delete")
    if not await repo.change(doc_id, {"status": "deleted"}, need="delete"):
        raise NotFound()
    await blob_store(settings).delete(row["blob_id"])


# --- professionals ----------------------------------------------------------------------

_NO_MATCH = ("Aucun dossier ne correspond à cet INS et à ces traits d'identité.",
             "No record matches this INS and these identity traits.")


def traits_mismatch(person: dict, traits: dict) -> list[str]:
    def same(a: Any, b: Any) -> bool:
        return fold(str(a)).strip() == fold(str(b)).strip()

    checks = {
        "birth_name": same(person["birth_name"], traits["birth_name"]),
        "first_name": same(person["first_name"], traits["first_name"]),
        "birth_date": person["birth_date"] == traits["birth_date"],
        "sex": person["sex"] == traits["sex"],
    }
    if traits.get("birthplace_code"):
        checks["birthplace_code"] = person["birthplace_code"] == traits["birthplace_code"]
    return [k for k, ok in checks.items() if not ok]


async def identify_patient(actor: Actor, ins: str, traits: dict) -> dict:
    """Find a patient by INS and every strict trait, as the national record does.

    A professional learns nothing from a failed attempt: an unknown INS and any
    mismatching trait give the same answer, failures are throttled per
    professional, and an attempt on an existing record is written to its
    history. Only someone who supplied the whole matching identity is told
    why it cannot be used (identity not qualified).
    """
    key = f"identify:{actor.professional_id}"
    await throttle.check(key)
    person = await match_identity(ins, traits)
    if person is None or traits_mismatch(person, traits):
        await throttle.record_failure(key)
        if person is not None:
            await history.record(person["id"], actor_kind="pro", actor_id=str(actor.professional_id),
                                 actor_label=await display_name(actor), action="patient.identify",
                                 outcome="refused", purpose="identity traits mismatch")
        raise Unprocessable(_NO_MATCH[0], detail_en=_NO_MATCH[1],
                             errors=[{"field": "ins", "rule": "match", "message": "aucune correspondance",
                                      "message_en": "no match"}])
    require_qualified(person)
    return person


async def match_identity(ins: str, traits: dict) -> dict | None:
    """The open record of this INS (format checked), for the caller to compare the traits."""
    return await people.by_nir(validate_nir(ins, field="ins"))


def require_qualified(person: dict) -> None:
    """Only a qualified identity (QUAL) may be used to exchange data."""
    if person["identity_status"] != "QUAL":
        raise Unprocessable(
            f"Identité non qualifiée (statut {person['identity_status']}) : l'INS ne peut pas être utilisé.",
            detail_en=f"Identity not qualified (status {person['identity_status']}): the INS cannot be used.",
            errors=[{"field": "ins", "rule": "qualified", "message": "identité non qualifiée",
                     "message_en": "identity not qualified"}])


async def find_patient(actor: Actor, ins: str, traits: dict) -> dict:
    """Identify a patient and say which basis of access the professional has (``None`` if blocked)."""
    person = await identify_patient(actor, ins, traits)
    policy = await policy_for(actor, person["id"])
    who = await audit.who(actor, policy)
    await audit.record(who, person["id"], "patient.identify")
    return {**person, "basis": None if policy.refused else policy.basis}


async def patient_summary(actor: Actor, person_id: UUID) -> dict:
    """Name, birth date and basis of a patient the professional has access to (else 404)."""
    repo, who = await open_record(actor, person_id, "patient.read")
    person = await people.summary(person_id)
    await audit.record(who, person_id, "patient.read")
    return {**person, "basis": repo.policy.basis}


async def feed_document(
    settings: Settings, actor: Actor, *, ins: str, traits: dict, body: Body, filename: str | None,
    title: str, type_code: str, care_date: date, hidden_from_guardians: bool, announce_later: bool,
    idempotency_key: str | None,
) -> dict:
    """A professional adds a document to a patient's record (the author gets presumed consent)."""
    check_type(type_code)
    person = await identify_patient(actor, ins, traits)
    repo, who = await open_record(actor, person["id"], "document.add", feed=True)
    pro = await _pro_row(actor.professional_id)
    name = f"{pro['first_name']} {pro['last_name']}"
    sub = Submission(
        body=body, filename=filename, title=title, type_code=type_code, care_date=care_date,
        author_label=name, added_by=name, source="professional", author_professional=actor.professional_id,
        structure_name=pro["structure_name"], hidden_from_guardians=hidden_from_guardians,
        patient_visible_after=(utcnow() + timedelta(days=settings.announcement_delay_days)
                               if announce_later else None),
        idempotency_key=idempotency_key, receipt_scope=str(actor.account_id), extra={"ins": ins})
    return public(await ingest(settings, blob_store(settings), repo, who, sub))


async def _pro_row(professional_id: UUID | None) -> dict:
    from backend.professionals.directory import pro_profile

    return await pro_profile(professional_id)


async def replace_document(settings: Settings, actor: Actor, doc_id: UUID, body: Body,
                           filename: str | None, title: str | None) -> dict:
    """The author publishes a new version; the old one is kept as ``replaced``."""
    old, repo, who = await decide(actor, doc_id, "document.replace", need="author", record_allowed=False)
    sub = Submission(
        body=body, filename=filename, title=title or old["title"], type_code=old["type_code"],
        care_date=old["care_date"], author_label=old["author_label"], added_by=old["added_by"],
        source=old["source"], author_professional=old["author_professional"],
        structure_name=old["structure_name"], hidden_from_guardians=bool(old["hidden_from_guardians"]),
        masked=bool(old["masked"]), patient_visible_after=old["patient_visible_after"],
        extra={"version": old["version"] + 1, "previous_version": doc_id, "supersedes": doc_id})
    return public(await ingest(settings, blob_store(settings), repo, who, sub, action="document.replace"))


async def archive_document(actor: Actor, doc_id: UUID) -> None:
    """The author withdraws a document from the record (kept, no longer listed)."""
    _, repo, _ = await decide(actor, doc_id, "document.archive", need="author")
    if not await repo.change(doc_id, {"status": "archived"}, need="author"):
        raise NotFound()


async def announce_document(actor: Actor, doc_id: UUID) -> dict:
    """The author releases a document to the patient (the diagnosis has been announced)."""
    row, repo, _ = await decide(actor, doc_id, "document.announce", need="author")
    changed = await _changed(repo, doc_id, {"patient_visible_after": utcnow()}, "author")
    if row["patient_visible_after"] is not None and row["patient_visible_after"] > utcnow() \
            and not row["hidden_from_guardians"]:
        await audit.notify_new_document(row["person"], row["author_label"], row["structure_name"])
    return changed


async def orphan_blobs(settings: Settings) -> list[str]:
    """Blob ids that no document row references (left by a crash between blob and row)."""
    stored = set(await blob_store(settings).list_ids())
    return sorted(stored - await referenced_blob_ids())
