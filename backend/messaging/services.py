"""Messaging services: inboxes, threads, messages, read markers, closing, attachments, unread counts.

Every function takes the Actor, resolves its side of the thread or profile
once (``policy.py``) and works through the
:class:`~backend.messaging.repository.ThreadRepository` built from it, so a
thread outside the caller's rights is simply not found (404). A
professional's refused attempt is recorded in the patient's access history;
their allowed reads and writes are recorded too (never the citizen's own).
What a message says is sealed at rest; a change is announced to the live
streams of both sides (ids and counts only) once it is committed.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from uuid import UUID

from backend.access import history
from backend.core import database, live
from backend.core.auth import Actor, require_pro, utcnow
from backend.core.errors import (
    CarnetError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooManyAttempts,
    Unprocessable,
)
from backend.core.settings import Settings
from backend.documents import audit
from backend.documents.blobstore import BlobIntegrityError
from backend.identity import people
from backend.messaging import attachments as files
from backend.messaging import repository
from backend.messaging.policy import (
    CITIZEN,
    PRO,
    MessagingPolicy,
    Side,
    blocked_people,
    citizen_inbox_policy,
    citizen_side,
    counterpart_keys,
    person_key,
    pro_policy,
    pro_side,
)
from backend.messaging.repository import ThreadRepository
from backend.messaging.sealing import seal, unseal
from backend.professionals import directory

MAX_TEXT = 5000
MAX_SUBJECT = 200
MAX_PAGE = 100
DEFAULT_PAGE = 30
MAX_INBOX = 100
# Sending limits per account, by side (a pharmacy answers many patients).
MESSAGE_WINDOW = timedelta(minutes=10)
MESSAGES_PER_WINDOW = {CITIZEN: 30}  # the professional side's: CARNET_PRO_MESSAGES_PER_10_MINUTES
THREAD_WINDOW = timedelta(days=1)
THREADS_PER_WINDOW = {CITIZEN: 10, PRO: 50}
PHARMACY = "pharmacy"
# C0/C1 control characters but tab, line feed and carriage return.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class AttachmentDamaged(CarnetError):
    status_code = 500
    problem = "internal"


def _field_problem(field: str, rule: str, fr: str, en: str,
                   cls: type[CarnetError] = Unprocessable) -> CarnetError:
    return cls(fr, detail_en=en, errors=[{"field": field, "rule": rule, "message": fr, "message_en": en}])


# --- checks -----------------------------------------------------------------------------


def check_text(text: str) -> str:
    """A message's text: 1 to 5,000 characters, not only spaces, no control characters.

    Raises:
        Unprocessable: naming the field ``text``.
    """
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped or len(text) > MAX_TEXT or _CONTROLS.search(stripped):
        raise _field_problem("text", "length",
                             f"Message invalide : 1 à {MAX_TEXT} caractères, sans caractère de contrôle.",
                             f"Invalid message: 1 to {MAX_TEXT} characters, no control characters.")
    return stripped


def check_subject(subject: str | None) -> str | None:
    """A thread's subject: optional, at most 200 printable characters (spaces collapsed)."""
    if subject is None:
        return None
    collapsed = " ".join(subject.split())
    if not collapsed:
        return None
    if len(collapsed) > MAX_SUBJECT or not collapsed.isprintable():
        raise _field_problem("subject", "length",
                             f"Objet invalide : au plus {MAX_SUBJECT} caractères imprimables.",
                             f"Invalid subject: at most {MAX_SUBJECT} printable characters.")
    return collapsed


_CURSOR = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def parse_cursor(before: str | None) -> tuple[UUID | None, datetime | None]:
    """``before``: a message id, or an ISO 8601 time (naive times are UTC).

    Raises:
        Unprocessable: neither (``field: before``).
    """
    if before is None:
        return None, None
    if _CURSOR.match(before):
        return UUID(before), None
    try:
        when = datetime.fromisoformat(before.replace("Z", "+00:00"))
    except ValueError:
        raise _field_problem("before", "format",
                             "Curseur invalide : un identifiant de message ou une date ISO 8601.",
                             "Invalid cursor: a message id or an ISO 8601 time.") from None
    return None, when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_limit(limit: int, most: int) -> int:
    if not 1 <= limit <= most:
        raise _field_problem("limit", "range", f"limit : de 1 à {most}.", f"limit: from 1 to {most}.")
    return limit


async def _check_rate(settings: Settings, actor: Actor, side: str, *, new_thread: bool, lock: bool) -> None:
    """Refuse (429, with ``Retry-After``) an account that sends too much.

    With ``lock`` (inside the write transaction), concurrent sends of one
    account are serialised first, so a burst meets the limit one by one.
    """
    if lock:
        await database.lock(f"messaging:{actor.account_id}")
    now = utcnow()
    most = settings.pro_messages_per_10_minutes if side == PRO else MESSAGES_PER_WINDOW[side]
    checks = [(repository.sent_since, MESSAGE_WINDOW, most)]
    if new_thread:
        checks.append((repository.started_since, THREAD_WINDOW, THREADS_PER_WINDOW[side]))
    for count, window, most in checks:
        n, oldest = await count(actor.account_id, now - window)
        if n >= most:
            wait = max(1, int(((oldest or now) + window - now).total_seconds() + 0.999))
            minutes = max(1, round(wait / 60))
            what_fr, what_en = ("conversations", "conversations") if window == THREAD_WINDOW else \
                ("messages", "messages")
            raise TooManyAttempts(
                f"Trop de {what_fr} envoyés : réessayez dans {minutes} min.",
                detail_en=f"Too many {what_en} sent: try again in {minutes} min.",
                headers={"Retry-After": str(wait)})


# --- views ------------------------------------------------------------------------------


def _other(side: str) -> str:
    return PRO if side == CITIZEN else CITIZEN


def thread_public(settings: Settings, row: dict, viewer: str, *, unread: int, person_name: str) -> dict:
    """A thread as the API shows it (without its messages)."""
    structure = row["structure"]
    return {
        "id": row["id"],
        "person_id": row["person"],
        "person_name": person_name,
        "counterpart": {"kind": "structure" if structure is not None else "professional",
                        "id": structure if structure is not None else row["professional"],
                        "name": row["counterpart_label"]},
        "subject": unseal(settings, "message_thread", row["id"], "subject", row["subject"]),
        "status": row["status"],
        "started_by": row["started_by"],
        "side": viewer,
        "unread": unread,
        "read_markers": {side: {"read_seq": row[f"{side}_read_seq"], "read_at": row[f"{side}_read_at"]}
                         for side in (CITIZEN, PRO)},
        "created_at": row["created_at"],
        "last_message_at": row["last_message_at"],
        "closed_at": row["closed_at"],
        "closed_by": row["closed_by"],
    }


def message_public(settings: Settings, row: dict, thread: dict, viewer: str, attached: list[dict]) -> dict:
    """A message as the API shows it: who wrote it (for whom), when, what, and whether it was read."""
    shown: dict[str, list] = {"file": [], "reference": []}
    for item in attached:
        kind, public = files.public(settings, item)
        shown[kind].append(public)
    recipient = _other(row["side"])
    return {
        "id": row["id"],
        "seq": row["seq"],
        "side": row["side"],
        "mine": row["side"] == viewer,
        "author": row["author_label"],
        "on_behalf_of": row["on_behalf_of"],
        "sent_at": row["created_at"],
        "text": unseal(settings, "thread_message", row["id"], "body", row["body"]),
        "read_by_recipient": row["seq"] <= thread[f"{recipient}_read_seq"],
        "attachments": shown["file"],
        "references": shown["reference"],
    }


async def _unread_of(repo: ThreadRepository, thread_ids: list[UUID]) -> dict[UUID, int]:
    return {r["thread"]: r["n"] for r in await repo.unread(thread_ids)}


async def _thread_view(settings: Settings, side: Side, thread_id: UUID, *, before_seq: int | None = None,
                       before_time: datetime | None = None, limit: int = DEFAULT_PAGE) -> dict:
    repo = ThreadRepository(side.policy)
    thread = await repo.get(thread_id)
    if thread is None:
        raise NotFound()
    rows = await repo.messages(thread_id, before_seq=before_seq, before_time=before_time, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    attached: dict[UUID, list[dict]] = {}
    for item in await repo.attachments([r["id"] for r in rows]):
        attached.setdefault(item["message"], []).append(item)
    unread = (await _unread_of(repo, [thread_id])).get(thread_id, 0)
    view = thread_public(settings, thread, side.name, unread=unread,
                         person_name=await people.full_name(thread["person"]))
    view["messages"] = [message_public(settings, r, thread, side.name, attached.get(r["id"], []))
                        for r in rows]
    view["next_before"] = str(rows[-1]["id"]) if more and rows else None
    return view


async def _names(person_ids: set[UUID]) -> dict[UUID, str]:
    if not person_ids:
        return {}
    return {p["id"]: f"{p['first_name']} {p['birth_name']}" for p in await people.profiles(list(person_ids))}


async def _inbox(settings: Settings, repo: ThreadRepository, rows: list[dict], limit: int,
                 hidden: set[UUID] | frozenset[UUID] = frozenset()) -> dict:
    more = len(rows) > limit
    rows = rows[:limit]
    next_before = rows[-1]["last_message_at"] if more and rows else None
    rows = [r for r in rows if r["person"] not in hidden]
    unread = await _unread_of(repo, [r["id"] for r in rows])
    names = await _names({r["person"] for r in rows})
    items = [thread_public(settings, r, repo.policy.side, unread=unread.get(r["id"], 0),
                           person_name=names.get(r["person"], "")) for r in rows]
    return {"items": items, "next_before": next_before}


# --- opening a thread -------------------------------------------------------------------


async def _open_thread(actor: Actor, thread_id: UUID, action: str, resource: str = "") -> tuple[Side, dict]:
    """The actor's side of a thread, and the thread; 404 (a professional's refusal recorded) otherwise."""
    where = await repository.locate(thread_id)
    if where is None:
        raise NotFound()
    resource = resource or str(thread_id)
    if actor.is_pro:
        policy = await pro_policy(actor)
        row = await ThreadRepository(policy).get(thread_id)
        side = await pro_side(actor, where["person"], action=action, resource=resource,
                              member=row is not None, policy=policy)
    else:
        side = await citizen_side(actor, where["person"])
        row = await ThreadRepository(side.policy).get(thread_id)
    if row is None:
        raise NotFound()
    return side, row


# --- inboxes ----------------------------------------------------------------------------


async def list_threads(settings: Settings, actor: Actor, person_id: UUID, *, before: datetime | None = None,
                       limit: int = 50) -> dict:
    """A profile's threads, latest activity first, with unread counts (one each and in total)."""
    limit = _check_limit(limit, MAX_INBOX)
    side = await citizen_side(actor, person_id)
    repo = ThreadRepository(side.policy)
    page = await _inbox(settings, repo, await repo.inbox(person_id=person_id, before=before, limit=limit + 1),
                        limit)
    page["unread_total"] = sum(r["n"] for r in await repo.unread())
    return page


async def pro_inbox(settings: Settings, actor: Actor, *, before: datetime | None = None,
                    limit: int = 50) -> dict:
    """The professional's threads: their structure's shared inbox and their own, with unread counts.

    Threads of patients who blocked the professional are left out.
    """
    require_pro(actor)
    limit = _check_limit(limit, MAX_INBOX)
    policy = await pro_policy(actor)
    repo = ThreadRepository(policy)
    rows = await repo.inbox(before=before, limit=limit + 1)
    hidden = await blocked_people(actor.professional_id, {r["person"] for r in rows})
    page = await _inbox(settings, repo, rows, limit, hidden)
    page["unread_total"] = await _pro_unread(actor, repo)
    structure = await directory.get_structure(policy.structure_id) if policy.structure_id else None
    page["structure"] = ({"id": structure["id"], "name": structure["name"], "kind": structure["kind"]}
                         if structure else None)
    return page


async def _pro_unread(actor: Actor, repo: ThreadRepository) -> int:
    rows = await repo.unread()
    hidden = await blocked_people(actor.professional_id, {r["person"] for r in rows})
    return sum(r["n"] for r in rows if r["person"] not in hidden)


async def unread(actor: Actor) -> dict:
    """Unread messages for the badge: in total, and per profile for a citizen."""
    if actor.is_pro:
        repo = ThreadRepository(await pro_policy(actor))
        return {"total": await _pro_unread(actor, repo), "profiles": []}
    policy = await citizen_inbox_policy(actor)
    counts = {p: 0 for p in policy.person_ids}
    for row in await ThreadRepository(policy).unread():
        counts[row["person"]] = counts.get(row["person"], 0) + row["n"]
    return {"total": sum(counts.values()),
            "profiles": [{"person_id": p, "unread": n} for p, n in counts.items()]}


async def audience(actor: Actor) -> set[str]:
    """The live-update keys the actor's event stream listens to."""
    policy = await (pro_policy(actor) if actor.is_pro else citizen_inbox_policy(actor))
    return policy.audience()


async def hidden_from(actor: Actor, person_id: UUID) -> bool:
    """Whether the actor may not hear about this patient's threads (a block), for the event stream."""
    return actor.is_pro and bool(await blocked_people(actor.professional_id, {person_id}))


# --- writing ----------------------------------------------------------------------------


def _message_row(settings: Settings, actor: Actor, side: Side, text: str, author: str, now: datetime) -> dict:
    message_id = uuid.uuid4()
    return {
        "id": message_id, "side": side.name, "author_account": actor.account_id, "author_kind": side.who.kind,
        "author_professional": actor.professional_id if side.name == PRO else None,
        "author_label": author[:300], "on_behalf_of": side.who.on_behalf_of,
        "body": seal(settings, "thread_message", message_id, "body", text), "created_at": now,
    }


async def _author(actor: Actor, side: Side) -> str:
    """How a message names its writer: the professional with their structure, or the citizen."""
    if side.name == PRO:
        return await directory.label(actor.professional_id)
    return side.who.label


Upload = tuple[IO[bytes] | bytes, str | None]  # the file's body and the name the client gave


async def _prepare(settings: Settings, actor: Actor, person_id: UUID, *, document_ids: list[UUID],
                   upload: Upload | None, references: list[dict]) -> files.Pending:
    pending = files.Pending()
    try:
        if upload is not None:
            await files.add_upload(settings, pending, *upload)
        if document_ids:
            await files.add_documents(settings, actor, pending, person_id, document_ids)
        files.add_references(settings, pending, references)
    except BaseException:
        await pending.discard(settings)
        raise
    return pending


async def _announce(thread: dict, kind: str, **ids: Any) -> None:
    """Tell both sides' streams (ids only); called once the change is committed or inside the
    transaction that makes it (the broker then waits for the commit)."""
    payload = {"type": kind, "thread_id": str(thread["id"]), "person_id": str(thread["person"]),
               **{k: str(v) for k, v in ids.items()}}
    for key in sorted({person_key(thread["person"])} | counterpart_keys(thread)):
        await live.publish(key, payload)


async def _notify_citizen(thread: dict, author: str) -> None:
    """A notice on the profile when a professional writes: who wrote, never what."""
    await history.notify(thread["person"], "notice.message", f"{author} vous a envoyé un message.",
                         f"{author} sent you a message.")


async def _write(settings: Settings, actor: Actor, side: Side, thread: dict, text: str,
                 pending: files.Pending, *, action: str, new_thread: dict | None = None) -> dict:
    """Insert the message (and the thread when starting one) in one transaction; record, notify, announce."""
    repo = ThreadRepository(side.policy)
    author = await _author(actor, side)
    message = _message_row(settings, actor, side, text, author, utcnow())
    try:
        async with database.transaction():
            await _check_rate(settings, actor, side.name, new_thread=new_thread is not None, lock=True)
            if new_thread is not None:
                await repo.insert_thread(new_thread)
            seq = await repo.insert_message(thread["id"], message, pending.rows)
            if seq is None:
                raise Conflict("Cette conversation est close : elle n'accepte plus de message.",
                               detail_en="This conversation is closed: it accepts no new message.")
            await audit.record(side.who, thread["person"], action, str(thread["id"]))
            if side.name == PRO:
                await _notify_citizen(thread, author)
            await _announce(thread, "message", message_id=message["id"])
    except BaseException:
        await pending.discard(settings)
        raise
    return message


async def start_citizen_thread(settings: Settings, actor: Actor, person_id: UUID, *, structure_id: UUID,
                               text: str, subject: str | None = None, document_ids: list[UUID] | tuple = (),
                               references: list[dict] | tuple = ()) -> dict:
    """The citizen side writes to a pharmacy (the only structures a citizen may start a thread with).

    Raises:
        NotFound: no right on the profile (a caregiver without ``messaging``...).
        Unprocessable: unknown structure, not a pharmacy, invalid text, subject, document or reference.
        TooManyAttempts: too many messages or threads lately.
    """
    side = await citizen_side(actor, person_id)
    text, subject = check_text(text), check_subject(subject)
    refs = files.check_references(list(references))
    structure = await directory.get_structure(structure_id)
    if structure is None:
        raise _field_problem("structure_id", "not-found", "Pharmacie introuvable.", "Pharmacy not found.")
    if structure["kind"] != PHARMACY:
        raise _field_problem("structure_id", "pharmacy-only",
                             "Vous pouvez commencer une conversation avec une pharmacie seulement : "
                             "les autres professionnels vous écrivent en premier.",
                             "You may start a conversation with a pharmacy only: other professionals "
                             "write to you first.")
    await _check_rate(settings, actor, side.name, new_thread=True, lock=False)
    now = utcnow()
    thread_id = uuid.uuid4()
    row = {"id": thread_id, "person": person_id, "structure": structure["id"], "professional": None,
           "counterpart_label": structure["name"][:300],
           "subject": seal(settings, "message_thread", thread_id, "subject", subject),
           "started_by": CITIZEN, "started_by_account": actor.account_id, "created_at": now,
           "last_message_at": now}
    pending = await _prepare(settings, actor, person_id, document_ids=list(document_ids), upload=None,
                             references=refs)
    await _write(settings, actor, side, row, text, pending, action="thread.start", new_thread=row)
    return await _thread_view(settings, side, thread_id)


async def start_pro_thread(settings: Settings, actor: Actor, person_id: UUID, *, text: str,
                           subject: str | None = None) -> dict:
    """A professional with a basis of access writes to a patient.

    A pharmacist's thread belongs to the pharmacy (its shared inbox); any
    other professional's is theirs.

    Raises:
        Forbidden: not a professional.
        NotFound: unknown record, no basis, blocked (the last two recorded as refused).
        Unprocessable: invalid text or subject.
        TooManyAttempts: too many messages or threads lately.
    """
    require_pro(actor)
    text, subject = check_text(text), check_subject(subject)
    policy = await pro_policy(actor)
    side = await pro_side(actor, person_id, action="thread.start", policy=policy)
    await _check_rate(settings, actor, side.name, new_thread=True, lock=False)
    structure = await directory.get_structure(policy.structure_id) if policy.structure_id else None
    now = utcnow()
    thread_id = uuid.uuid4()
    if structure is not None and structure["kind"] == PHARMACY:
        counterpart = {"structure": structure["id"], "professional": None,
                       "counterpart_label": structure["name"]}
    else:
        counterpart = {"structure": None, "professional": actor.professional_id,
                       "counterpart_label": await directory.label(actor.professional_id)}
    row = {"id": thread_id, "person": person_id, **counterpart,
           "counterpart_label": counterpart["counterpart_label"][:300],
           "subject": seal(settings, "message_thread", thread_id, "subject", subject),
           "started_by": PRO, "started_by_account": actor.account_id, "created_at": now,
           "last_message_at": now}
    await _write(settings, actor, side, row, text, files.Pending(), action="thread.start", new_thread=row)
    return await _thread_view(settings, side, thread_id)


async def post_message(settings: Settings, actor: Actor, thread_id: UUID, *, text: str,
                       document_ids: list[UUID] | tuple = (), references: list[dict] | tuple = (),
                       upload: Upload | None = None) -> dict:
    """Write in a thread of one's side (the citizen side replies in any of its threads).

    Raises:
        NotFound: not a thread of the actor's side (a professional's attempt recorded as refused).
        Conflict: the thread is closed.
        Unprocessable, UnsupportedMediaType, PayloadTooLarge: the text or an attachment is refused.
        TooManyAttempts: too many messages lately.
    """
    side, message = await _post(settings, actor, thread_id, text=text, document_ids=document_ids,
                                references=references, upload=upload)
    return await _message_view(settings, side, thread_id, message["id"])


async def _post(settings: Settings, actor: Actor, thread_id: UUID, *, text: str,
                document_ids: list[UUID] | tuple, references: list[dict] | tuple, upload: Upload | None
                ) -> tuple[Side, dict]:
    side, thread = await _open_thread(actor, thread_id, "thread.reply")
    text = check_text(text)
    refs = files.check_references(list(references))
    if thread["status"] != "open":
        raise Conflict("Cette conversation est close : elle n'accepte plus de message.",
                       detail_en="This conversation is closed: it accepts no new message.")
    await _check_rate(settings, actor, side.name, new_thread=False, lock=False)
    pending = await _prepare(settings, actor, thread["person"], document_ids=list(document_ids),
                             upload=upload, references=refs)
    message = await _write(settings, actor, side, thread, text, pending, action="thread.reply")
    return side, message


async def _message_view(settings: Settings, side: Side, thread_id: UUID, message_id: UUID) -> dict:
    repo = ThreadRepository(side.policy)
    thread, row = await repo.get(thread_id), await repo.message(thread_id, message_id)
    if thread is None or row is None:
        raise NotFound()
    return message_public(settings, row, thread, side.name, await repo.attachments([message_id]))


async def send(
    settings: Settings,
    actor: Actor,
    person_id: UUID,
    *,
    text: str,
    structure_id: UUID | None = None,
    thread_id: UUID | None = None,
    subject: str | None = None,
    references: list[dict] = (),  # type: ignore[assignment]
) -> dict:
    """Send a message for another slice (a prescription sent to a pharmacy).

    Starts a thread with the structure (the same rules as ``POST
    /api/profiles/{profile_id}/threads``: the citizen side, a pharmacy only) or
    posts into ``thread_id`` (one of the profile's threads); ``references``
    (``{kind, ref, title}``) are shown in the message to both sides.

    Returns:
        The thread as ``GET /api/threads/{thread_id}`` shows it, with its newest messages.

    Raises:
        InvalidRequest: neither or both of ``structure_id`` and ``thread_id``.
        NotFound, Unprocessable, Conflict, TooManyAttempts: as the endpoints.
    """
    if (structure_id is None) == (thread_id is None):
        raise InvalidRequest("Indiquez une pharmacie ou une conversation.",
                             detail_en="Give a pharmacy or a conversation.",
                             errors=[{"field": "structure_id", "rule": "one-of", "message": "une seule cible",
                                      "message_en": "exactly one target"}])
    if structure_id is not None:
        return await start_citizen_thread(settings, actor, person_id, structure_id=structure_id, text=text,
                                          subject=subject, references=references)
    assert thread_id is not None
    where = await repository.locate(thread_id)
    if where is None or where["person"] != person_id:
        raise NotFound()
    side, _ = await _post(settings, actor, thread_id, text=text, document_ids=(), references=references,
                          upload=None)
    return await _thread_view(settings, side, thread_id)


# --- reading ----------------------------------------------------------------------------


async def get_thread(settings: Settings, actor: Actor, thread_id: UUID, *, before: str | None = None,
                     limit: int = DEFAULT_PAGE, record: bool = True) -> dict:
    """A thread and one page of its messages, newest first (``before``: a message id or a time;
    ``record=False``: the caller, the export, records its own single event)."""
    limit = _check_limit(limit, MAX_PAGE)
    before_id, before_time = parse_cursor(before)
    side, thread = await _open_thread(actor, thread_id, "thread.read")
    before_seq = None
    if before_id is not None:
        before_seq = await ThreadRepository(side.policy).message_seq(thread_id, before_id)
        if before_seq is None:
            raise _field_problem("before", "unknown",
                                 "Curseur inconnu : ce message n'est pas dans la conversation.",
                                 "Unknown cursor: this message is not in the conversation.")
    view = await _thread_view(settings, side, thread_id, before_seq=before_seq, before_time=before_time,
                              limit=limit)
    if record:
        await audit.record(side.who, thread["person"], "thread.read", str(thread_id))
    return view


async def mark_read(actor: Actor, thread_id: UUID) -> dict:
    """The actor's side has read the thread up to now; the other side then sees its messages as read."""
    side, thread = await _open_thread(actor, thread_id, "thread.read")
    now = utcnow()
    marker = await ThreadRepository(side.policy).mark_read(thread_id, now)
    if marker is None:
        raise NotFound()
    await _announce(thread, "read", side=side.name)
    return {"thread_id": thread_id, "side": side.name, "read_seq": marker["read_seq"], "read_at": now,
            "unread": 0}


async def close_thread(settings: Settings, actor: Actor, thread_id: UUID) -> dict:
    """The professional side closes a thread: it accepts no new message.

    Raises:
        Forbidden: the citizen side (only the professional side closes).
        Conflict: already closed.
    """
    side, thread = await _open_thread(actor, thread_id, "thread.close")
    if side.name != PRO:
        raise Forbidden("Seul le professionnel peut clore la conversation.",
                        detail_en="Only the professional can close the conversation.")
    async with database.transaction():
        if not await ThreadRepository(side.policy).close(thread_id, utcnow(), await _author(actor, side)):
            raise Conflict("Cette conversation est déjà close.",
                           detail_en="This conversation is already closed.")
        await audit.record(side.who, thread["person"], "thread.close", str(thread_id))
        await _announce(thread, "thread", status="closed")
    return await _thread_view(settings, side, thread_id)


async def attachment_content(settings: Settings, actor: Actor, attachment_id: UUID) -> tuple[bytes, dict]:
    """A file attached to a message of the actor's side: its bytes, type and name.

    Raises:
        NotFound: unknown, a reference, or not in a thread of the actor's side (a professional's
            attempt recorded as refused).
    """
    thread_id = await repository.locate_attachment(attachment_id)
    if thread_id is None:
        raise NotFound()
    side, thread = await _open_thread(actor, thread_id, "thread.attachment", str(attachment_id))
    row = await ThreadRepository(side.policy).attachment(attachment_id)
    if row is None or row["kind"] == "reference":
        raise NotFound()
    try:
        data = await files.content(settings, row)
    except BlobIntegrityError as exc:
        raise AttachmentDamaged("Cette pièce jointe est endommagée et ne peut pas être affichée.",
                                detail_en="This attachment is damaged and cannot be shown.") from exc
    await audit.record(side.who, thread["person"], "thread.attachment", str(attachment_id))
    _, public = files.public(settings, row)
    return data, public


__all__ = ["MessagingPolicy", "send"]
