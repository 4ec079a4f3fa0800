"""One ingestion pipeline for every way a document enters the record.

The citizen's upload, the professional feed, a new version and the operator's
import all run the same steps: check the type and title, answer a retried
request from its receipt, read the (spooled) body and check its size before
loading it, sanitise and hash it in a worker thread, refuse a duplicate the
actor can see, store the encrypted blob durably, insert the row through the
repository (receipt in the same transaction) and record the event once.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from uuid import UUID

from backend.core.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from backend.core.settings import Settings
from backend.documents import audit
from backend.documents.blobstore import DirectoryBlobStore
from backend.documents.catalogue import check_type
from backend.documents.repository import DocumentRepository
from backend.documents.sanitise import Sanitised, check_size, is_suspicious_filename, sanitise_upload

Body = bytes | IO[bytes]
_CHUNK = 1 << 20


@dataclass
class Submission:
    """What a caller asks to add; ``body`` is bytes or a (spooled) binary file."""

    body: Body
    filename: str | None
    title: str
    type_code: str
    care_date: date
    author_label: str
    added_by: str
    source: str  # citizen | professional | operator
    author_professional: UUID | None = None
    structure_name: str | None = None
    hidden_from_guardians: bool = False
    masked: bool = False
    patient_visible_after: datetime | None = None
    idempotency_key: str | None = None
    receipt_scope: str = ""  # whose keys these are (the account), so two accounts never collide
    extra: dict[str, Any] = field(default_factory=dict)  # version lineage on a replacement


def check_title(title: str) -> str:
    """Collapse whitespace; 1 to 200 printable characters."""
    title = " ".join(title.split())
    if not title or len(title) > 200 or not title.isprintable():
        raise Unprocessable("Titre invalide : 1 à 200 caractères imprimables.",
                             detail_en="Invalid title: 1 to 200 printable characters.",
                             errors=[{"field": "title", "rule": "length", "message": "titre invalide",
                                      "message_en": "invalid title"}])
    return title


def receipt_key(scope: str, idempotency_key: str | None) -> str | None:
    """The stored receipt key of a client's ``Idempotency-Key`` (hashed with its owner)."""
    if not idempotency_key:
        return None
    if len(idempotency_key) > 200 or not idempotency_key.isprintable():
        raise InvalidRequest("En-tête Idempotency-Key invalide.", detail_en="Invalid Idempotency-Key header.",
                             errors=[{"field": "Idempotency-Key", "rule": "format",
                                      "message": "1 à 200 caractères imprimables",
                                      "message_en": "1 to 200 printable characters"}])
    return hashlib.sha256(f"{scope}:{idempotency_key}".encode()).hexdigest()


def read_body(body: Body, max_bytes: int) -> bytes:
    """The body's bytes, refusing an oversized spooled file before loading it."""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    body.seek(0, 2)
    size = body.tell()
    body.seek(0)
    check_size(b"", max_bytes, size=size)
    chunks = []
    while chunk := body.read(_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class _Prepared:
    request_hash: str
    clean: Sanitised | None
    digest: str


def _prepare(body: Body, sub: Submission, max_bytes: int, *, sanitise: bool) -> _Prepared:
    """Worker thread: read, hash the request, sanitise and hash the clean bytes."""
    data = read_body(body, max_bytes)
    meta = f"|{sub.title}|{sub.type_code}|{sub.care_date}|{sub.extra.get('ins', '')}".encode()
    request_hash = hashlib.sha256(data + meta).hexdigest()
    if not sanitise:
        return _Prepared(request_hash, None, "")
    clean = sanitise_upload(data, sub.filename, max_bytes)
    return _Prepared(request_hash, clean, hashlib.sha256(clean.data).hexdigest())


async def ingest(settings: Settings, store: DirectoryBlobStore, repo: DocumentRepository,
                 who: audit.Who, sub: Submission, *, action: str = "document.add") -> dict:
    """Run the pipeline and return the stored document's row.

    Raises:
        Unprocessable: unknown type, bad title or file name, refused content (415/413 subclasses).
        Conflict: the same file is already in what the actor can see, or the key was reused.
        NotFound: the policy may not add here.
    """
    entry = check_type(sub.type_code)
    sub.title = check_title(sub.title)
    if sub.filename and is_suspicious_filename(sub.filename):
        raise Unprocessable(
            "Nom de fichier refusé : chemin ou caractères de contrôle interdits.",
            detail_en="File name refused: paths and control characters are not allowed.",
            errors=[{"field": "file", "rule": "filename", "message": "nom de fichier suspect",
                     "message_en": "suspicious file name"}])
    if not repo.may_add(sub.extra.get("supersedes")):
        raise NotFound()
    receipt = receipt_key(sub.receipt_scope, sub.idempotency_key)
    max_bytes = settings.max_document_bytes
    if receipt:
        first = await asyncio.to_thread(_prepare, sub.body, sub, max_bytes, sanitise=False)
        if (existing := await repo.replayed(receipt, first.request_hash)) is not None:
            return await _visible(repo, existing)
    prepared = await asyncio.to_thread(_prepare, sub.body, sub, max_bytes, sanitise=True)
    clean = prepared.clean
    assert clean is not None
    duplicate = await repo.find_duplicate(prepared.digest)
    # A retry that raced its first attempt, which committed since: the same answer, not a duplicate.
    if duplicate is not None and receipt and (
            existing := await repo.replayed(receipt, prepared.request_hash)) is not None:
        return await _visible(repo, existing)
    if duplicate is not None:
        title, when = duplicate["title"], duplicate["care_date"]
        raise Conflict(
            f"Ce fichier est déjà dans le dossier : « {title} » du {when:%d/%m/%Y}.",
            detail_en=f"This file is already in the record: '{title}' of {when:%Y-%m-%d}.",
            errors=[{"field": "file", "rule": "duplicate", "message": "document déjà présent",
                     "message_en": "document already in the record"}])
    values = {
        "person": repo.policy.person_id, "type_code": sub.type_code, "category": entry["category"],
        "title": sub.title, "care_date": sub.care_date, "author_professional": sub.author_professional,
        "author_label": sub.author_label, "structure_name": sub.structure_name, "source": sub.source,
        "added_by": sub.added_by, "media_type": clean.media_type, "filename": clean.safe_filename,
        "hidden_from_guardians": sub.hidden_from_guardians, "masked": sub.masked,
        "patient_visible_after": sub.patient_visible_after, **sub.extra,
    }
    values.pop("ins", None)
    supersedes = values.pop("supersedes", None)
    blob_id = uuid.uuid4().hex
    stored = await store.put(blob_id, clean.data)
    values.update(blob_id=blob_id, wrapped_key=stored.wrapped_key, sha256=stored.sha256, size=stored.size)
    try:
        doc_id = await repo.insert(values, receipt, prepared.request_hash, supersedes=supersedes)
    except BaseException:
        await store.delete(blob_id)
        raise
    if doc_id is None:  # a concurrent retry with the same key committed first
        await store.delete(blob_id)
        return await _visible(repo, await repo.replayed(receipt, prepared.request_hash))
    await audit.record(who, repo.policy.person_id, action, str(doc_id),
                       hidden=sub.hidden_from_guardians)
    # A professional's new document the patient can already see (not a minor's secret, whose
    # notices the parents would read, nor one held until the diagnosis is announced).
    if (sub.source == "professional" and action == "document.add" and not sub.hidden_from_guardians
            and sub.patient_visible_after is None):
        await audit.notify_new_document(repo.policy.person_id, sub.author_label, sub.structure_name)
    return await _visible(repo, doc_id)


async def _visible(repo: DocumentRepository, doc_id: UUID | None) -> dict:
    row = await repo.get(doc_id)
    if row is None:
        raise NotFound()
    return row
