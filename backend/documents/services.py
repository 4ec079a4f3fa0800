"""Document services: list, read, add (citizen, caregiver, professional feed), replace, hide, delete.

Every function takes the Actor and goes through :func:`document_scope`; the
scope's SQL condition is part of every query, so a document outside it is
simply not found (404), never "forbidden".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import unicodedata
import uuid
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from backend.access import history
from backend.access.documents_scope import DocumentScope, document_scope, pro_basis
from backend.accounts.services import display_name
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import CarnetError, Conflict, InvalidRequest, NotFound
from backend.core.settings import Settings
from backend.documents.blobstore import BlobIntegrityError, DirectoryBlobStore, StoredBlob
from backend.documents.sanitise import is_suspicious_filename, sanitise_upload
from backend.documents.tables import Document, UploadReceipt
from backend.identity.tables import InsuredPerson

CATALOGUE = json.loads((Path(__file__).parent / "catalogue.json").read_text())
TYPES: dict[str, dict] = CATALOGUE["types"]
CATEGORIES: dict[str, dict] = CATALOGUE["categories"]
PATIENT_TYPE = "carnet:patient-document"
SORTS = {
    "-care_date": "care_date DESC, created_at DESC",
    "care_date": "care_date ASC, created_at ASC",
    "title": "search_text ASC",
    "-created_at": "created_at DESC",
}
COLUMNS = (
    "id, person, type_code, category, title, care_date, author_professional, author_label, "
    "structure_name, source, added_by, media_type, filename, size, sha256, version, previous_version, "
    "status, masked, hidden_from_guardians, patient_visible_after, created_at"
)
# The list needs no hash or lineage; fewer columns, fewer conversions.
LIST_COLUMNS = (
    "id, person, type_code, category, title, care_date, author_label, structure_name, source, added_by, "
    "media_type, filename, size, version, masked, hidden_from_guardians, patient_visible_after, created_at"
)
MAX_PAGE = 100


class DocumentDamaged(CarnetError):
    status_code = 500
    problem = "internal"


@lru_cache(maxsize=8)
def _store(root: str, key: bytes) -> DirectoryBlobStore:
    return DirectoryBlobStore(Path(root), key)


def blob_store(settings: Settings) -> DirectoryBlobStore:
    """The blob store of this deployment (a directory under the data directory)."""
    return _store(str(settings.blob_dir), settings.secrets.data_key)


def fold(text: str) -> str:
    """Lower case without accents, for title search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def check_type(type_code: str) -> dict:
    if type_code not in TYPES:
        raise InvalidRequest(
            f"Type de document inconnu : « {type_code[:40]} ». Utilisez un code du catalogue.",
            detail_en=f"Unknown document type '{type_code[:40]}'. Use a catalogue code.",
            errors=[{"field": "type_code", "rule": "catalogue", "message": "type inconnu"}],
        )
    return TYPES[type_code]


def public(row: dict, scope: DocumentScope | None = None) -> dict:
    """A document's metadata as the API shows it."""
    now = utcnow()
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
        "announced": hidden_until is None or hidden_until <= now,
        "created_at": row["created_at"],
    }


async def _audit(actor: Actor, scope: DocumentScope, action: str, resource: str = "",
                 outcome: str = "allowed", purpose: str = "") -> None:
    """Record any access by someone other than the citizen themself ("X for Y" when on behalf)."""
    if scope.kind == "self":
        return
    kind = {"pro": "emergency" if scope.basis == "emergency" else "pro"}.get(scope.kind, scope.kind)
    on_behalf = None
    if scope.kind in ("delegate", "parent"):
        owner = await database.fetch(
            "SELECT first_name, birth_name FROM insured_person WHERE id = {}", scope.person_id)
        on_behalf = f"{owner[0]['first_name']} {owner[0]['birth_name']}"
    await history.record(scope.person_id, actor_kind=kind,
                         actor_id=actor.professional_id or actor.person_id,
                         actor_label=await display_name(actor), action=action, resource=resource,
                         outcome=outcome, purpose=purpose, on_behalf_of=on_behalf)


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
    scope = await document_scope(actor, person_id)
    where, args = scope.where()
    filters = {
        "category = {}": category, "type_code = {}": type_code, "care_date >= {}": date_from,
        "care_date <= {}": date_to,
        "LOWER(author_label) LIKE {}": f"%{author.lower()}%" if author else None,
        "search_text LIKE {}": f"%{fold(q)}%" if q else None,
    }
    for clause, value in filters.items():
        if value is not None:
            where += " AND " + clause
            args.append(value)
    if sort not in SORTS:
        raise InvalidRequest(f"Tri inconnu : {sort[:20]} (possibles : {', '.join(SORTS)}).",
                             detail_en=f"Unknown sort: {sort[:20]} (allowed: {', '.join(SORTS)}).")
    page, page_size = max(1, page), min(max(1, page_size), MAX_PAGE)
    rows = await database.fetch(
        f"SELECT {LIST_COLUMNS} FROM document WHERE {where} ORDER BY {SORTS[sort]} LIMIT {{}} OFFSET {{}}",  # noqa: S608
        *args, page_size, (page - 1) * page_size,
    )
    total = (await database.fetch(f"SELECT COUNT(*) AS n FROM document WHERE {where}", *args))[0]["n"]  # noqa: S608
    await _audit(actor, scope, "documents.list")
    return {"items": [public(r) for r in rows], "total": total, "page": page, "page_size": page_size}


async def _person_of(doc_id: UUID) -> UUID:
    rows = await database.fetch("SELECT person FROM document WHERE id = {}", doc_id)
    if not rows:
        raise NotFound()
    return rows[0]["person"]


async def get_document(
    actor: Actor, doc_id: UUID, *, action: str = "document.read"
) -> tuple[dict, DocumentScope]:
    """One document, if the actor's scope includes it (else 404, and a refused event)."""
    person_id = await _person_of(doc_id)
    scope = await document_scope(actor, person_id)
    where, args = scope.where()
    rows = await database.fetch(
        f"SELECT {COLUMNS}, blob_id, wrapped_key FROM document WHERE id = {{}} AND {where}",  # noqa: S608
        doc_id, *args,
    )
    if not rows:
        await _audit(actor, scope, action, str(doc_id), outcome="refused")
        raise NotFound()
    await _audit(actor, scope, action, str(doc_id))
    return rows[0], scope


async def read_content(settings: Settings, actor: Actor, doc_id: UUID) -> tuple[bytes, dict]:
    """The document's bytes, decrypted and checked against the recorded hash."""
    row, _ = await get_document(actor, doc_id, action="document.download")
    stored = StoredBlob(blob_id=row["blob_id"], wrapped_key=row["wrapped_key"], sha256=row["sha256"],
                        size=row["size"])
    try:
        data = await blob_store(settings).get(row["blob_id"], stored)
    except BlobIntegrityError as exc:
        raise DocumentDamaged("Ce document est endommagé et ne peut pas être affiché.",
                              detail_en="This document is damaged and cannot be shown.") from exc
    return data, row


def _receipt_key(actor: Actor, idempotency_key: str | None) -> str | None:
    if not idempotency_key:
        return None
    if len(idempotency_key) > 200 or not idempotency_key.isprintable():
        raise InvalidRequest("En-tête Idempotency-Key invalide.", detail_en="Invalid Idempotency-Key header.")
    return hashlib.sha256(f"{actor.account_id}:{idempotency_key}".encode()).hexdigest()


async def _replayed(key: str | None, request_hash: str) -> UUID | None:
    if key is None:
        return None
    rows = await database.fetch("SELECT document, request_hash FROM upload_receipt WHERE key = {}", key)
    if not rows:
        return None
    if rows[0]["request_hash"] != request_hash:
        raise Conflict("Cette clé d'idempotence a déjà servi pour un autre envoi.",
                       detail_en="This idempotency key was already used for another upload.")
    return rows[0]["document"]


async def _store_document(settings: Settings, values: dict[str, Any], data: bytes, receipt: str | None,
                          request_hash: str) -> UUID:
    """Blob first (durable), then the row and the receipt in one transaction.

    A crash between the two leaves an unreferenced blob, never a visible row
    without its bytes; ``carnet documents-cleanup`` removes such blobs.
    """
    store = blob_store(settings)
    blob_id = uuid.uuid4().hex
    stored = await store.put(blob_id, data)
    try:
        async with database.transaction():
            if await _replayed(receipt, request_hash):
                raise _Raced()
            doc_id = (await Document.insert(Document(
                **values, blob_id=blob_id, wrapped_key=stored.wrapped_key, sha256=stored.sha256,
                size=stored.size,
            )).returning(Document.id))[0]["id"]
            if receipt:
                await UploadReceipt.insert(UploadReceipt(key=receipt, document=doc_id,
                                                         request_hash=request_hash))
        return doc_id
    except BaseException:
        await store.delete(blob_id)
        raise


class _Raced(Exception):
    """Another request with the same idempotency key committed first."""


async def refuse_duplicate(person_id: UUID, data: bytes) -> None:
    """The same file already in the record (and not deleted) is a duplicate: 409 naming it."""
    digest = hashlib.sha256(data).hexdigest()
    rows = await database.fetch(
        "SELECT title, care_date FROM document WHERE person = {} AND sha256 = {} AND status = 'active'",
        person_id, digest)
    if rows:
        title, when = rows[0]["title"], rows[0]["care_date"]
        raise Conflict(
            f"Ce fichier est déjà dans le dossier : « {title} » du {when:%d/%m/%Y}.",
            detail_en=f"This file is already in the record: '{title}' of {when:%Y-%m-%d}.",
            errors=[{"field": "file", "rule": "duplicate", "message": "document déjà présent"}],
        )


async def _sanitised(settings: Settings, data: bytes, filename: str | None):
    if filename and is_suspicious_filename(filename):
        raise InvalidRequest(
            "Nom de fichier refusé : chemin ou caractères de contrôle interdits.",
            detail_en="File name refused: paths and control characters are not allowed.",
            errors=[{"field": "file", "rule": "filename", "message": "nom de fichier suspect"}],
        )
    return await asyncio.to_thread(sanitise_upload, data, filename, settings.max_document_bytes)


def _check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title or len(title) > 200 or not title.isprintable():
        raise InvalidRequest("Titre invalide : 1 à 200 caractères imprimables.",
                             detail_en="Invalid title: 1 to 200 printable characters.",
                             errors=[{"field": "title", "rule": "length", "message": "titre invalide"}])
    return title


async def add_citizen_document(
    settings: Settings, actor: Actor, person_id: UUID, data: bytes, filename: str | None, *,
    title: str, type_code: str | None, care_date: date | None, idempotency_key: str | None,
) -> dict:
    """A document the citizen (or a parent, or a caregiver with the scope) adds to the record."""
    scope = await document_scope(actor, person_id, write=True)
    if not scope.can_add or scope.is_pro:
        raise NotFound()
    type_code = type_code or PATIENT_TYPE
    entry = check_type(type_code)
    title = _check_title(title)
    receipt = _receipt_key(actor, idempotency_key)
    request_hash = hashlib.sha256(data + f"{title}|{type_code}|{care_date}".encode()).hexdigest()
    if (existing := await _replayed(receipt, request_hash)) is not None:
        return await _public_by_id(existing)
    clean = await _sanitised(settings, data, filename)
    await refuse_duplicate(person_id, clean.data)
    name = await display_name(actor)
    if scope.kind != "self":
        owner = await InsuredPerson.select(InsuredPerson.first_name, InsuredPerson.birth_name).where(
            InsuredPerson.id == person_id).first()
        name = f"{name} pour {owner['first_name']} {owner['birth_name']}"
    values = {
        "person": person_id, "type_code": type_code, "category": entry["category"], "title": title,
        "search_text": fold(title), "care_date": care_date or date.today(), "author_label": name,
        "source": "citizen", "added_by": name, "media_type": clean.media_type,
        "filename": clean.safe_filename,
    }
    try:
        doc_id = await _store_document(settings, values, clean.data, receipt, request_hash)
    except _Raced:
        return await _public_by_id(await _replayed(receipt, request_hash))
    await _audit(actor, scope, "document.add", str(doc_id))
    return await _public_by_id(doc_id)


async def _public_by_id(doc_id: UUID | None) -> dict:
    rows = await database.fetch(f"SELECT {COLUMNS} FROM document WHERE id = {{}}", doc_id)  # noqa: S608
    return public(rows[0])


async def _owned_by_citizen(actor: Actor, doc_id: UUID) -> tuple[dict, DocumentScope]:
    row, scope = await get_document(actor, doc_id, action="document.manage")
    if not scope.can_manage:
        raise NotFound()
    return row, scope


async def set_masked(actor: Actor, doc_id: UUID, masked: bool) -> dict:
    """Hide a document from professionals (its author and the GP still see it), or show it again."""
    row, _ = await _owned_by_citizen(actor, doc_id)
    await Document.update({Document.masked: masked, Document.updated_at: utcnow()}).where(
        Document.id == row["id"])
    return await _public_by_id(row["id"])


async def delete_citizen_document(settings: Settings, actor: Actor, doc_id: UUID) -> None:
    """Delete a document the citizen's side added (professional documents are kept)."""
    row, _ = await _owned_by_citizen(actor, doc_id)
    if row["source"] != "citizen":
        raise Conflict(
            "Seuls les documents que vous avez ajoutés peuvent être supprimés ; masquez les autres.",
            detail_en="Only documents you added can be deleted; hide the others.",
        )
    await Document.update({Document.status: "deleted", Document.updated_at: utcnow()}).where(
        Document.id == row["id"])
    await blob_store(settings).delete(row["blob_id"])


# --- professionals ----------------------------------------------------------------------


def _traits_mismatch(person: dict, traits: dict) -> list[str]:
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


async def patient_summary(actor: Actor, person_id: UUID) -> dict:
    """Name, birth date and basis of a patient the professional has access to (else 404)."""
    scope = await document_scope(actor, person_id)
    rows = await database.fetch(
        "SELECT id, first_name, birth_name, birth_date, sex FROM insured_person WHERE id = {}", person_id)
    await _audit(actor, scope, "patient.read")
    return {**rows[0], "basis": scope.basis}


async def identify_patient(ins: str, traits: dict) -> dict:
    """Find a patient by INS and strict traits, refusing with the exact reason as the national record does."""
    from backend.identity.identifiers import validate_nir

    nir = validate_nir(ins, field="ins")
    rows = await database.fetch(
        "SELECT id, identity_status, birth_name, first_name, birth_date, sex, birthplace_code "
        "FROM insured_person WHERE nir = {} AND closed_at IS NULL", nir)
    person = rows[0] if rows else None
    if person is None:
        raise InvalidRequest("INS inconnu : aucun dossier pour cet identifiant.",
                             detail_en="Unknown INS: no record for this identifier.",
                             errors=[{"field": "ins", "rule": "known", "message": "INS inconnu"}])
    if person["identity_status"] != "QUAL":
        raise InvalidRequest(
            f"Identité non qualifiée (statut {person['identity_status']}) : l'INS ne peut pas être utilisé.",
            detail_en=f"Identity not qualified (status {person['identity_status']}): the INS cannot be used.",
            errors=[{"field": "ins", "rule": "qualified", "message": "identité non qualifiée"}])
    wrong = _traits_mismatch(person, traits)
    if wrong:
        raise InvalidRequest(
            f"Traits d'identité différents de l'identité de référence : {', '.join(wrong)}.",
            detail_en=f"Identity traits differ from the reference identity: {', '.join(wrong)}.",
            errors=[{"field": f, "rule": "match", "message": "ne correspond pas"} for f in wrong])
    return person


async def feed_document(
    settings: Settings, actor: Actor, *, ins: str, traits: dict, data: bytes, filename: str | None,
    title: str, type_code: str, care_date: date, hidden_from_guardians: bool, announce_later: bool,
    idempotency_key: str | None,
) -> dict:
    """A professional adds a document to a patient's record (the author gets presumed consent)."""
    entry = check_type(type_code)
    title = _check_title(title)
    person = await identify_patient(ins, traits)
    _, _, blocked = await pro_basis(actor.professional_id, person["id"])
    if blocked:
        raise NotFound()
    receipt = _receipt_key(actor, idempotency_key)
    request_hash = hashlib.sha256(data + f"{title}|{type_code}|{care_date}|{ins}".encode()).hexdigest()
    if (existing := await _replayed(receipt, request_hash)) is not None:
        return await _public_by_id(existing)
    clean = await _sanitised(settings, data, filename)
    await refuse_duplicate(person["id"], clean.data)
    pro = await _pro_row(actor.professional_id)
    values = {
        "person": person["id"], "type_code": type_code, "category": entry["category"], "title": title,
        "search_text": fold(title), "care_date": care_date, "author_professional": actor.professional_id,
        "author_label": f"{pro['first_name']} {pro['last_name']}", "structure_name": pro["structure_name"],
        "source": "professional", "added_by": f"{pro['first_name']} {pro['last_name']}",
        "media_type": clean.media_type, "filename": clean.safe_filename,
        "hidden_from_guardians": hidden_from_guardians,
        "patient_visible_after": (utcnow() + timedelta(days=settings.announcement_delay_days)
                                  if announce_later else None),
    }
    try:
        doc_id = await _store_document(settings, values, clean.data, receipt, request_hash)
    except _Raced:
        return await _public_by_id(await _replayed(receipt, request_hash))
    await history.record(person["id"], actor_kind="pro", actor_id=actor.professional_id,
                         actor_label=values["author_label"], action="document.add", resource=str(doc_id))
    return await _public_by_id(doc_id)


async def _pro_row(professional_id: UUID) -> dict:
    rows = await database.fetch(
        "SELECT first_name, last_name, structure_name, profession_code FROM professional WHERE id = {}",
        professional_id)
    return rows[0]


async def _authored(actor: Actor, doc_id: UUID) -> dict:
    row, _ = await get_document(actor, doc_id, action="document.manage")
    if not actor.is_pro or row["author_professional"] != actor.professional_id:
        raise NotFound()
    return row


async def replace_document(settings: Settings, actor: Actor, doc_id: UUID, data: bytes,
                           filename: str | None, title: str | None) -> dict:
    """The author publishes a new version; the old one is kept as ``replaced``."""
    old = await _authored(actor, doc_id)
    clean = await _sanitised(settings, data, filename)
    title = _check_title(title) if title else old["title"]
    full = (await database.fetch(
        "SELECT * FROM document WHERE id = {}", doc_id))[0]
    values = {k: full[k] for k in (
        "person", "type_code", "category", "care_date", "author_professional", "author_label",
        "structure_name", "source", "added_by", "masked", "hidden_from_guardians", "patient_visible_after")}
    values.update(title=title, search_text=fold(title), media_type=clean.media_type,
                  filename=clean.safe_filename, version=full["version"] + 1, previous_version=doc_id)
    store = blob_store(settings)
    blob_id = uuid.uuid4().hex
    stored = await store.put(blob_id, clean.data)
    try:
        async with database.transaction():
            updated = await Document.update(
                {Document.status: "replaced", Document.updated_at: utcnow()}
            ).where((Document.id == doc_id) & (Document.status == "active")).returning(Document.id)
            if not updated:
                raise Conflict("Ce document a déjà été remplacé.",
                               detail_en="This document was already replaced.")
            new_id = (await Document.insert(Document(
                **values, blob_id=blob_id, wrapped_key=stored.wrapped_key, sha256=stored.sha256,
                size=stored.size)).returning(Document.id))[0]["id"]
    except BaseException:
        await store.delete(blob_id)
        raise
    return await _public_by_id(new_id)


async def archive_document(actor: Actor, doc_id: UUID) -> None:
    row = await _authored(actor, doc_id)
    await Document.update({Document.status: "archived", Document.updated_at: utcnow()}).where(
        Document.id == row["id"])


async def announce_document(actor: Actor, doc_id: UUID) -> dict:
    """The author releases a document to the patient (the diagnosis has been announced)."""
    row = await _authored(actor, doc_id)
    await Document.update({Document.patient_visible_after: utcnow()}).where(Document.id == row["id"])
    return await _public_by_id(row["id"])


async def orphan_blobs(settings: Settings) -> list[str]:
    """Blob ids that no document row references (left by a crash between blob and row)."""
    stored = set(await blob_store(settings).list_ids())
    referenced = {r["blob_id"] for r in await database.fetch("SELECT blob_id FROM document")}
    return sorted(stored - referenced)
