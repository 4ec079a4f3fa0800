"""The one door to the ``document`` and ``upload_receipt`` tables.

Every read, count, export, duplicate check and write of a person's documents
goes through a :class:`DocumentRepository` built from the request's
:class:`~backend.documents.policy.DocumentPolicy`; the policy's SQL condition
is part of every statement, so a document outside it does not exist for that
caller. ``tests/test_data_door.py`` fails when any other module names these
tables. The few statements that cannot be scoped by a person are module
functions with a narrow purpose: :func:`locate` (which record a document id
belongs to, to build the policy), :func:`authored_any` (the author basis) and
:func:`referenced_blob_ids` (operator clean-up).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from backend.core import database
from backend.core.auth import utcnow
from backend.core.errors import Conflict, NotFound
from backend.core.text import fold, like_contains

if TYPE_CHECKING:
    from backend.documents.policy import DocumentPolicy

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
SORTS = {
    "-care_date": "care_date DESC, created_at DESC",
    "care_date": "care_date ASC, created_at ASC",
    "title": "search_text ASC",
    "-created_at": "created_at DESC",
}
_INSERTED = ("person", "type_code", "category", "title", "search_text", "care_date", "author_professional",
             "author_label", "author_search", "structure_name", "source", "added_by", "media_type",
             "filename", "size", "sha256", "blob_id", "wrapped_key", "version", "previous_version",
             "masked", "hidden_from_guardians", "patient_visible_after")
_CHANGEABLE = {"masked", "status", "patient_visible_after"}
EXPORT_PAGE = 200


@dataclass(frozen=True)
class Filters:
    """Search filters of a document list (every one optional)."""

    category: str | None = None
    type_code: str | None = None
    author: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None

    def sql(self) -> tuple[str, list]:
        clauses = {
            "category = {}": self.category,
            "type_code = {}": self.type_code,
            "care_date >= {}": self.date_from,
            "care_date <= {}": self.date_to,
            "author_search LIKE {} ESCAPE '\\'": like_contains(fold(self.author)) if self.author else None,
            "search_text LIKE {} ESCAPE '\\'": like_contains(fold(self.q)) if self.q else None,
        }
        used = [(clause, value) for clause, value in clauses.items() if value is not None]
        return "".join(" AND " + c for c, _ in used), [v for _, v in used]


class Refused(NotFound):
    """The policy does not allow this write: answered as 404, like a document that does not exist."""


class DocumentRepository:
    """A person's documents as one actor may see and change them."""

    def __init__(self, policy: DocumentPolicy) -> None:
        self.policy = policy

    # --- reads ---------------------------------------------------------------------------

    async def page(self, filters: Filters, *, sort: str, limit: int, offset: int) -> list[dict]:
        """One page of the visible documents, filtered and sorted."""
        where, args = self.policy.where()
        extra, extra_args = filters.sql()
        return await database.fetch(
            f"SELECT {LIST_COLUMNS} FROM document WHERE {where}{extra} "  # noqa: S608
            f"ORDER BY {SORTS[sort]} LIMIT {{}} OFFSET {{}}", *args, *extra_args, limit, offset)

    async def count(self, filters: Filters) -> int:
        """How many visible documents match the filters."""
        where, args = self.policy.where()
        extra, extra_args = filters.sql()
        rows = await database.fetch(
            f"SELECT COUNT(*) AS n FROM document WHERE {where}{extra}", *args, *extra_args)  # noqa: S608
        return rows[0]["n"]

    async def get(self, doc_id: UUID | None) -> dict | None:
        """One visible document with its blob reference, or ``None``."""
        where, args = self.policy.where()
        rows = await database.fetch(
            f"SELECT {COLUMNS}, blob_id, wrapped_key FROM document WHERE id = {{}} AND {where}",  # noqa: S608
            doc_id, *args)
        return rows[0] if rows else None

    async def find_duplicate(self, sha256: str) -> dict | None:
        """A visible document with exactly these bytes: what a duplicate warning may name."""
        where, args = self.policy.where()
        rows = await database.fetch(
            f"SELECT title, care_date FROM document WHERE {where} AND sha256 = {{}} LIMIT 1",  # noqa: S608
            *args, sha256)
        return rows[0] if rows else None

    async def export_rows(self) -> AsyncIterator[dict]:
        """Every version the actor may take away (active, archived, replaced), in pages."""
        from backend.documents.policy import EXPORTED

        where, args = self.policy.where(EXPORTED)
        after, after_args = "", []
        while True:
            rows = await database.fetch(
                f"SELECT {COLUMNS}, blob_id, wrapped_key FROM document WHERE {where}{after} "  # noqa: S608
                "ORDER BY care_date, id LIMIT {}", *args, *after_args, EXPORT_PAGE)
            for row in rows:
                yield row
            if len(rows) < EXPORT_PAGE:
                return
            last = rows[-1]
            after = " AND (care_date > {} OR (care_date = {} AND id > {}))"
            after_args = [last["care_date"], last["care_date"], last["id"]]

    # --- idempotency receipts ----------------------------------------------------------

    @staticmethod
    async def replayed(receipt: str | None, request_hash: str) -> UUID | None:
        """The document an earlier request with the same key created (409 if the content differs)."""
        if receipt is None:
            return None
        rows = await database.fetch("SELECT document, request_hash FROM upload_receipt WHERE key = {}",
                                    receipt)
        if not rows:
            return None
        if rows[0]["request_hash"] != request_hash:
            raise Conflict("Cette clé d'idempotence a déjà servi pour un autre envoi.",
                           detail_en="This idempotency key was already used for another upload.")
        return rows[0]["document"]

    # --- writes --------------------------------------------------------------------------

    def may_add(self, supersedes: UUID | None = None) -> bool:
        """Whether the policy may add a document (an author may always publish a new version)."""
        return self.policy.can_add or (supersedes is not None and self.policy.is_pro)

    async def insert(self, values: dict[str, Any], receipt: str | None = None, request_hash: str = "",
                     *, supersedes: UUID | None = None) -> UUID | None:
        """Add a document (and its receipt) in one transaction.

        Args:
            values: the row's columns (``person`` must be the policy's person).
            receipt: the idempotency receipt key, if the client sent one.
            request_hash: what the receipt must match on a retry.
            supersedes: an active document of this author that the new one replaces.

        Returns:
            The new id, or ``None`` when a concurrent request with the same receipt committed first.

        Raises:
            Refused: the policy may not add here (or replace that document).
        """
        if not self.may_add(supersedes) or values["person"] != self.policy.person_id:
            raise Refused()
        row = {k: values.get(k) for k in _INSERTED}
        row.update(author_search=fold(values["author_label"]), search_text=fold(values["title"]),
                   version=values.get("version", 1), masked=bool(values.get("masked", False)),
                   hidden_from_guardians=bool(values.get("hidden_from_guardians", False)))
        doc_id = uuid4()
        now = utcnow()
        async with database.transaction():
            if receipt:  # two retries on two processes: the second waits, then finds the receipt
                await database.lock(f"upload-receipt:{receipt}")
            if await self.replayed(receipt, request_hash):
                return None
            if supersedes is not None and not await self._change(
                    supersedes, {"status": "replaced"}, need="author", now=now):
                raise Conflict("Ce document a déjà été remplacé.",
                               detail_en="This document was already replaced.")
            names = ", ".join(["id", *row, "status", "created_at", "updated_at"])
            marks = ", ".join("{}" for _ in range(len(row) + 4))
            await database.fetch(f"INSERT INTO document ({names}) VALUES ({marks})",  # noqa: S608
                                 doc_id, *row.values(), "active", now, now)
            if receipt:
                await database.fetch(
                    "INSERT INTO upload_receipt (key, document, request_hash, created_at) "
                    "VALUES ({}, {}, {}, {})",
                    receipt, doc_id, request_hash, now)
        return doc_id

    async def change(self, doc_id: UUID, changes: dict[str, Any], *, need: str) -> bool:
        """Change a visible document the policy may change; ``False`` when it may not.

        ``need`` is ``manage`` (the citizen side: mask; ``delete`` adds that the
        citizen side uploaded it) or ``author`` (the professional who wrote it).
        """
        async with database.transaction():
            return await self._change(doc_id, changes, need=need, now=utcnow())

    async def _change(self, doc_id: UUID, changes: dict[str, Any], *, need: str, now) -> bool:
        if not set(changes) <= _CHANGEABLE:
            raise ValueError(f"not a changeable column: {set(changes) - _CHANGEABLE}")
        where, args = self.policy.where()
        if need in ("manage", "delete"):
            if not self.policy.can_manage:
                return False
            if need == "delete":
                where += " AND source = 'citizen'"
        elif need == "author":
            if not self.policy.is_pro:
                return False
            where += " AND author_professional = {}"
            args.append(self.policy.professional_id)
        else:
            raise ValueError(f"unknown need: {need}")
        sets = ", ".join(f"{column} = {{}}" for column in changes)
        rows = await database.fetch(
            f"UPDATE document SET {sets}, updated_at = {{}} WHERE id = {{}} AND {where} RETURNING id",  # noqa: S608
            *changes.values(), now, doc_id, *args)
        return bool(rows)


# --- narrow, unscoped statements ---------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Which record a document belongs to, and whether it is a minor's secret."""

    person_id: UUID
    hidden_from_guardians: bool


async def locate(doc_id: UUID) -> Location | None:
    """The record a document id belongs to (to build the caller's policy), never its content."""
    rows = await database.fetch("SELECT person, hidden_from_guardians FROM document WHERE id = {}", doc_id)
    if not rows:
        return None
    return Location(rows[0]["person"], bool(rows[0]["hidden_from_guardians"]))


async def authored_any(professional_id: UUID | None, person_id: UUID) -> bool:
    """Whether the professional wrote any document of this record (the author basis)."""
    rows = await database.fetch(
        "SELECT 1 AS one FROM document WHERE person = {} AND author_professional = {} LIMIT 1",
        person_id, professional_id)
    return bool(rows)


async def referenced_blob_ids() -> set[str]:
    """Every blob a document row references (operator clean-up of crash leftovers)."""
    return {r["blob_id"] for r in await database.fetch("SELECT blob_id FROM document")}
