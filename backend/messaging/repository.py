"""The one door to the ``message_thread``, ``thread_message`` and ``message_attachment`` tables.

Every read, count and write of a thread goes through a :class:`ThreadRepository`
built from the request's :class:`~backend.messaging.policy.MessagingPolicy`; the
policy's SQL condition is part of every statement, so a thread outside it does
not exist for that caller. ``tests/test_data_door.py`` fails when any other
module names these tables. The few statements that cannot be scoped by a
policy are module functions with a narrow purpose: :func:`locate` and
:func:`locate_attachment` (which thread an id belongs to, to build the
policy) and :func:`sent_since` / :func:`started_since` (an account's own
sending rate).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from backend.core import database

if TYPE_CHECKING:
    from backend.messaging.policy import MessagingPolicy

THREAD_COLUMNS = (
    "message_thread.id, message_thread.person, message_thread.structure, message_thread.professional, "
    "message_thread.counterpart_label, message_thread.subject, message_thread.started_by, "
    "message_thread.status, message_thread.last_seq, message_thread.citizen_read_seq, "
    "message_thread.citizen_read_at, message_thread.pro_read_seq, message_thread.pro_read_at, "
    "message_thread.closed_at, message_thread.closed_by, message_thread.created_at, "
    "message_thread.last_message_at"
)
MESSAGE_COLUMNS = ("id, thread, seq, side, author_kind, author_label, on_behalf_of, body, created_at")
ATTACHMENT_COLUMNS = ("id, message, thread, ordinal, kind, media_type, filename, size, sha256, blob_id, "
                      "wrapped_key, source_document, ref_kind, ref, title")
_READ_COLUMNS = {"citizen": ("citizen_read_seq", "citizen_read_at"), "pro": ("pro_read_seq", "pro_read_at")}
_SIDES = ("citizen", "pro")


def _marks(n: int) -> str:
    return ", ".join("{}" for _ in range(n))


class ThreadRepository:
    """The threads one actor may see, their messages and attachments, and the writes on them."""

    def __init__(self, policy: MessagingPolicy) -> None:
        self.policy = policy

    # --- reads ---------------------------------------------------------------------------

    async def get(self, thread_id: UUID) -> dict | None:
        """One thread inside the policy, or ``None``."""
        where, args = self.policy.where()
        rows = await database.fetch(
            f"SELECT {THREAD_COLUMNS} FROM message_thread WHERE message_thread.id = {{}} AND {where}",  # noqa: S608
            thread_id, *args)
        return rows[0] if rows else None

    async def inbox(self, *, person_id: UUID | None = None, before: datetime | None = None,
                    limit: int = 50) -> list[dict]:
        """Threads inside the policy (one profile's when ``person_id``), latest activity first."""
        where, args = self.policy.where()
        if person_id is not None:
            where += " AND message_thread.person = {}"
            args.append(person_id)
        if before is not None:
            where += " AND message_thread.last_message_at < {}"
            args.append(before)
        return await database.fetch(
            f"SELECT {THREAD_COLUMNS} FROM message_thread WHERE {where} "  # noqa: S608
            "ORDER BY message_thread.last_message_at DESC, message_thread.id DESC LIMIT {}", *args, limit)

    async def unread(self, thread_ids: list[UUID] | None = None) -> list[dict]:
        """Per thread with unread messages for the policy's side: ``thread``, ``person``, ``n``.

        A message is unread when the other side wrote it after this side's read marker.
        """
        side = self.policy.side
        read_seq = _READ_COLUMNS[side][0]
        where, args = self.policy.where()
        if thread_ids is not None:
            if not thread_ids:
                return []
            where += f" AND message_thread.id IN ({_marks(len(thread_ids))})"
            args.extend(thread_ids)
        return await database.fetch(
            "SELECT message_thread.id AS thread, message_thread.person AS person, COUNT(*) AS n "  # noqa: S608
            "FROM message_thread JOIN thread_message ON thread_message.thread = message_thread.id "
            f"WHERE {where} AND thread_message.side <> {{}} "
            f"AND thread_message.seq > message_thread.{read_seq} "
            "GROUP BY message_thread.id, message_thread.person", *args, side)

    async def messages(self, thread_id: UUID, *, before_seq: int | None = None,
                       before_time: datetime | None = None, limit: int = 30) -> list[dict]:
        """A page of a thread's messages, newest first, older than the cursor."""
        where, args = self.policy.where()
        extra, extra_args = "", []
        if before_seq is not None:
            extra, extra_args = " AND thread_message.seq < {}", [before_seq]
        elif before_time is not None:
            extra, extra_args = " AND thread_message.created_at < {}", [before_time]
        return await database.fetch(
            "SELECT thread_message.id, thread_message.thread, thread_message.seq, thread_message.side, "  # noqa: S608
            "thread_message.author_kind, thread_message.author_label, thread_message.on_behalf_of, "
            "thread_message.body, thread_message.created_at "
            "FROM thread_message JOIN message_thread ON message_thread.id = thread_message.thread "
            f"WHERE thread_message.thread = {{}} AND {where}{extra} "
            "ORDER BY thread_message.seq DESC LIMIT {}", thread_id, *args, *extra_args, limit)

    async def message_seq(self, thread_id: UUID, message_id: UUID) -> int | None:
        """The number of one of the thread's messages (a page cursor), or ``None``."""
        where, args = self.policy.where()
        rows = await database.fetch(
            "SELECT thread_message.seq FROM thread_message "  # noqa: S608
            "JOIN message_thread ON message_thread.id = thread_message.thread "
            f"WHERE thread_message.id = {{}} AND thread_message.thread = {{}} AND {where}",
            message_id, thread_id, *args)
        return rows[0]["seq"] if rows else None

    async def message(self, thread_id: UUID, message_id: UUID) -> dict | None:
        """One message of a thread inside the policy."""
        where, args = self.policy.where()
        rows = await database.fetch(
            "SELECT thread_message.id, thread_message.thread, thread_message.seq, thread_message.side, "  # noqa: S608
            "thread_message.author_kind, thread_message.author_label, thread_message.on_behalf_of, "
            "thread_message.body, thread_message.created_at "
            "FROM thread_message JOIN message_thread ON message_thread.id = thread_message.thread "
            f"WHERE thread_message.id = {{}} AND thread_message.thread = {{}} AND {where}",
            message_id, thread_id, *args)
        return rows[0] if rows else None

    async def attachments(self, message_ids: list[UUID]) -> list[dict]:
        """The attachments of these messages (inside the policy), in their order."""
        if not message_ids:
            return []
        where, args = self.policy.where()
        columns = ", ".join(f"message_attachment.{c.strip()}" for c in ATTACHMENT_COLUMNS.split(","))
        return await database.fetch(
            f"SELECT {columns} FROM message_attachment "  # noqa: S608
            "JOIN message_thread ON message_thread.id = message_attachment.thread "
            f"WHERE message_attachment.message IN ({_marks(len(message_ids))}) AND {where} "
            "ORDER BY message_attachment.message, message_attachment.ordinal", *message_ids, *args)

    async def attachment(self, attachment_id: UUID) -> dict | None:
        """One attachment inside the policy, with its blob reference."""
        where, args = self.policy.where()
        columns = ", ".join(f"message_attachment.{c.strip()}" for c in ATTACHMENT_COLUMNS.split(","))
        rows = await database.fetch(
            f"SELECT {columns} FROM message_attachment "  # noqa: S608
            "JOIN message_thread ON message_thread.id = message_attachment.thread "
            f"WHERE message_attachment.id = {{}} AND {where}", attachment_id, *args)
        return rows[0] if rows else None

    # --- writes --------------------------------------------------------------------------

    async def insert_thread(self, values: dict[str, Any]) -> None:
        """Create a thread (its first message follows through :meth:`insert_message`).

        Raises:
            ValueError: the thread is outside the policy (a programming error).
        """
        if self.policy.side == "citizen" and values["person"] not in self.policy.person_ids:
            raise ValueError("a thread outside the policy")
        names = ("id", "person", "structure", "professional", "counterpart_label", "subject", "started_by",
                 "started_by_account", "status", "last_seq", "citizen_read_seq", "pro_read_seq",
                 "created_at", "last_message_at")
        row = {**values, "status": "open", "last_seq": 0, "citizen_read_seq": 0, "pro_read_seq": 0}
        await database.execute(
            f"INSERT INTO message_thread ({', '.join(names)}) VALUES ({_marks(len(names))})",  # noqa: S608
            *(row.get(n) for n in names))

    async def insert_message(self, thread_id: UUID, message: dict[str, Any],
                             attachments: list[dict[str, Any]]) -> int | None:
        """Append a message (and its attachments) to an open thread, in the caller's transaction.

        The thread's counter gives the message its number; the writer's side has
        read everything up to its own message.

        Returns:
            The message's number, or ``None`` when the thread is closed (or outside the policy).
        """
        side = message["side"]
        if side not in _SIDES:
            raise ValueError(f"unknown side: {side}")
        read_seq, read_at = _READ_COLUMNS[side]
        where, args = self.policy.where()
        async with database.transaction():
            rows = await database.fetch(
                f"UPDATE message_thread SET last_seq = last_seq + 1, last_message_at = {{}}, "  # noqa: S608
                f"{read_seq} = last_seq + 1, {read_at} = {{}} "
                f"WHERE message_thread.id = {{}} AND message_thread.status = 'open' AND {where} "
                "RETURNING last_seq", message["created_at"], message["created_at"], thread_id, *args)
            if not rows:
                return None
            seq = rows[0]["last_seq"]
            names = ("id", "thread", "seq", "side", "author_account", "author_kind", "author_professional",
                     "author_label", "on_behalf_of", "body", "created_at")
            row = {**message, "thread": thread_id, "seq": seq}
            await database.fetch(
                f"INSERT INTO thread_message ({', '.join(names)}) VALUES ({_marks(len(names))})",  # noqa: S608
                *(row.get(n) for n in names))
            names = ("id", "message", "thread", "ordinal", "kind", "media_type", "filename", "size", "sha256",
                     "blob_id", "wrapped_key", "source_document", "ref_kind", "ref", "title", "created_at")
            for ordinal, attachment in enumerate(attachments):
                row = {**attachment, "message": message["id"], "thread": thread_id, "ordinal": ordinal,
                       "created_at": message["created_at"]}
                await database.fetch(
                    f"INSERT INTO message_attachment ({', '.join(names)}) "  # noqa: S608
                    f"VALUES ({_marks(len(names))})", *(row.get(n) for n in names))
        return seq

    async def mark_read(self, thread_id: UUID, at: datetime) -> dict | None:
        """This side has read everything the thread holds now; the new marker, or ``None``."""
        read_seq, read_at = _READ_COLUMNS[self.policy.side]
        where, args = self.policy.where()
        rows = await database.execute(
            f"UPDATE message_thread SET {read_seq} = last_seq, {read_at} = {{}} "  # noqa: S608
            f"WHERE message_thread.id = {{}} AND {where} "
            f"RETURNING {read_seq} AS read_seq, {read_at} AS read_at",
            at, thread_id, *args)
        return rows[0] if rows else None

    async def close(self, thread_id: UUID, at: datetime, by: str) -> bool:
        """Close an open thread inside the policy; ``False`` when it was not open (or not visible)."""
        where, args = self.policy.where()
        rows = await database.execute(
            "UPDATE message_thread SET status = 'closed', closed_at = {}, closed_by = {} "  # noqa: S608
            f"WHERE message_thread.id = {{}} AND message_thread.status = 'open' AND {where} RETURNING id",
            at, by[:300], thread_id, *args)
        return bool(rows)


# --- narrow, unscoped statements ---------------------------------------------------------


async def locate(thread_id: UUID) -> dict | None:
    """Whose thread an id is (``person``, ``structure``, ``professional``), to build the caller's policy."""
    rows = await database.fetch(
        "SELECT person, structure, professional FROM message_thread WHERE id = {}", thread_id)
    return rows[0] if rows else None


async def locate_attachment(attachment_id: UUID) -> UUID | None:
    """The thread an attachment belongs to, never its content."""
    rows = await database.fetch("SELECT thread FROM message_attachment WHERE id = {}", attachment_id)
    return rows[0]["thread"] if rows else None


async def sent_since(account_id: UUID, since: datetime) -> tuple[int, datetime | None]:
    """How many messages an account wrote since ``since``, and when the oldest of them was written."""
    rows = await database.fetch(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM thread_message "
        "WHERE author_account = {} AND created_at > {}", account_id, since)
    return rows[0]["n"], _stamp(rows[0]["oldest"])


async def started_since(account_id: UUID, since: datetime) -> tuple[int, datetime | None]:
    """How many threads an account started since ``since``, and when the oldest of them was."""
    rows = await database.fetch(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM message_thread "
        "WHERE started_by_account = {} AND created_at > {}", account_id, since)
    return rows[0]["n"], _stamp(rows[0]["oldest"])


def _stamp(value: Any) -> datetime | None:
    """An aggregate's timestamp: SQLite gives ``MIN()`` back as text (no column type to convert by)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
