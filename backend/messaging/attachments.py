"""What a message carries besides its text: a photo or a PDF sent with it, a copy of a record's
document, or a reference (a prescription's number).

Files go through the same checks as the record's uploads (``documents/sanitise.py``):
size, format from the bytes only, images decoded and re-encoded without their
metadata, disguised executables and markup refused. A record's document is
read through the documents service (its rules apply and the read is recorded)
and copied: the recipient only ever reaches the copy, never the record.

Files are stored encrypted (one AES-256-GCM key per file, wrapped by the master
key) in their own folder of the blob directory, so that the record's
clean-up of unreferenced blobs never sees them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from backend.core.auth import Actor
from backend.core.errors import CarnetError, NotFound, Unprocessable, UnsupportedMediaType
from backend.core.settings import Settings
from backend.documents import services as documents
from backend.documents.blobstore import DirectoryBlobStore, StoredBlob
from backend.documents.ingest import Body, read_body
from backend.documents.repository import locate as locate_document
from backend.documents.sanitise import (
    JPEG,
    PDF,
    PNG,
    is_suspicious_filename,
    sanitise_upload,
)
from backend.messaging.sealing import seal, unseal

ACCEPTED = (PDF, JPEG, PNG)  # a photo or a PDF
MAX_ATTACHMENT_BYTES = 10_000_000
MAX_DOCUMENTS = 5  # record documents attached to one message
MAX_REFERENCES = 5
REFERENCE_KINDS = ("prescription",)
TABLE = "message_attachment"



@lru_cache(maxsize=8)
def _store(root: str, key: bytes) -> DirectoryBlobStore:
    return DirectoryBlobStore(Path(root), key)


def blob_store(settings: Settings) -> DirectoryBlobStore:
    """Messaging's blob store: the documents' store class and key, in ``blobs/messaging``.

    The record's store lists only its two-character shard folders, so its
    clean-up of unreferenced files never reaches these.
    """
    return _store(str(settings.blob_dir / "messaging"), settings.secrets.data_key)


def max_bytes(settings: Settings) -> int:
    return min(MAX_ATTACHMENT_BYTES, settings.max_document_bytes)


def _problem(field_name: str, rule: str, fr: str, en: str,
             cls: type[CarnetError] = Unprocessable) -> CarnetError:
    return cls(fr, detail_en=en,
               errors=[{"field": field_name, "rule": rule, "message": fr, "message_en": en}])


@dataclass
class Pending:
    """Attachments prepared before the message is written (files already stored, encrypted)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    blob_ids: list[str] = field(default_factory=list)

    async def discard(self, settings: Settings) -> None:
        """Remove the stored files (the message was not written)."""
        for blob_id in self.blob_ids:
            await blob_store(settings).delete(blob_id)
        self.blob_ids.clear()


async def _store_file(settings: Settings, pending: Pending, data: bytes, media_type: str, filename: str,
                      **extra: Any) -> None:
    attachment_id = uuid.uuid4()
    blob_id = uuid.uuid4().hex
    stored = await blob_store(settings).put(blob_id, data)
    pending.blob_ids.append(blob_id)
    pending.rows.append({
        "id": attachment_id, "kind": extra.pop("kind"), "media_type": media_type,
        "filename": seal(settings, TABLE, attachment_id, "filename", filename), "size": stored.size,
        "sha256": stored.sha256, "blob_id": blob_id, "wrapped_key": stored.wrapped_key, **extra,
    })


def _sanitise(body: Body, filename: str | None, limit: int):
    clean = sanitise_upload(read_body(body, limit), filename, limit)
    if clean.media_type not in ACCEPTED:
        raise _problem("file", "unsupported-format",
                       "Pièce jointe refusée : envoyez une photo (JPEG, PNG) ou un PDF.",
                       "Attachment refused: send a photo (JPEG, PNG) or a PDF.",
                       cls=UnsupportedMediaType)
    return clean


async def add_upload(settings: Settings, pending: Pending, body: Body, filename: str | None) -> None:
    """Check, clean and store a photo or a PDF sent with a message.

    Raises:
        Unprocessable: empty, damaged, or a suspicious file name (422).
        PayloadTooLarge: over the size or pixel limits (413).
        UnsupportedMediaType: anything but JPEG, PNG or PDF by its bytes (415).
    """
    if filename and is_suspicious_filename(filename):
        raise _problem("file", "filename",
                       "Nom de fichier refusé : chemin ou caractères de contrôle interdits.",
                       "File name refused: paths and control characters are not allowed.")
    clean = await asyncio.to_thread(_sanitise, body, filename, max_bytes(settings))
    await _store_file(settings, pending, clean.data, clean.media_type, clean.safe_filename, kind="file")


async def add_documents(settings: Settings, actor: Actor, pending: Pending, person_id: UUID,
                        document_ids: list[UUID]) -> None:
    """Copy documents of the thread's record into the message.

    Each is read through the record's own service, so its rules decide (a
    professional outside the matrix, a parent on a minor's secret, a caregiver
    without ``read_documents`` read nothing) and the read is recorded there.

    Raises:
        Unprocessable: a document that is not in this record, or not readable by the actor.
    """
    if len(set(document_ids)) > MAX_DOCUMENTS:
        raise _problem("document_ids", "length", f"Au plus {MAX_DOCUMENTS} documents par message.",
                       f"At most {MAX_DOCUMENTS} documents per message.")
    for doc_id in dict.fromkeys(document_ids):
        where = await locate_document(doc_id)
        try:
            if where is None or where.person_id != person_id:
                raise NotFound()
            data, row = await documents.read_content(settings, actor, doc_id)
        except NotFound:
            raise _problem("document_ids", "not-found",
                           "Document introuvable dans ce dossier, ou que vous ne pouvez pas consulter.",
                           "Document not found in this record, or not one you may read.") from None
        await _store_file(settings, pending, data, row["media_type"], row["filename"], kind="document",
                          source_document=doc_id)


def check_references(references: list[dict] | tuple) -> list[dict[str, str]]:
    """Validate references (``{kind, ref, title}``) sent by another slice.

    Raises:
        Unprocessable: an unknown kind, an empty or too long reference or title.
    """
    if len(references) > MAX_REFERENCES:
        raise _problem("references", "length", f"Au plus {MAX_REFERENCES} références par message.",
                       f"At most {MAX_REFERENCES} references per message.")
    checked = []
    for item in references:
        kind, ref, title = (str(item.get(k) or "").strip() for k in ("kind", "ref", "title"))
        if kind not in REFERENCE_KINDS or not 1 <= len(ref) <= 100 or not 1 <= len(title) <= 200 \
                or not ref.isprintable() or not title.isprintable():
            raise _problem("references", "format", "Référence invalide.", "Invalid reference.")
        checked.append({"kind": kind, "ref": ref, "title": title})
    return checked


def add_references(settings: Settings, pending: Pending, references: list[dict[str, str]]) -> None:
    for item in references:
        attachment_id = uuid.uuid4()
        pending.rows.append({
            "id": attachment_id, "kind": "reference", "ref_kind": item["kind"],
            "ref": seal(settings, TABLE, attachment_id, "ref", item["ref"]),
            "title": seal(settings, TABLE, attachment_id, "title", item["title"]),
        })


def public(settings: Settings, row: dict) -> tuple[str, dict[str, Any]]:
    """(``file`` or ``reference``, the attachment as the API shows it)."""
    if row["kind"] == "reference":
        return "reference", {"kind": row["ref_kind"],
                             "ref": unseal(settings, TABLE, row["id"], "ref", row["ref"]),
                             "title": unseal(settings, TABLE, row["id"], "title", row["title"])}
    return "file", {"id": row["id"], "source": row["kind"], "media_type": row["media_type"],
                    "filename": unseal(settings, TABLE, row["id"], "filename", row["filename"]),
                    "size": row["size"]}


async def content(settings: Settings, row: dict) -> bytes:
    """A file attachment's bytes, decrypted and checked against its hash."""
    stored = StoredBlob(blob_id=row["blob_id"], wrapped_key=row["wrapped_key"], sha256=row["sha256"],
                        size=row["size"])
    return await blob_store(settings).get(row["blob_id"], stored)
