"""The access history: append-only, hash-chained per person, with notices to the citizen.

Each event's hash covers its content and the previous event's hash for the
same person, so an edited, deleted or reordered event breaks the chain from
there on; :func:`verify_chain` names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from backend.access.tables import AccessEvent, Notification
from backend.core import database
from backend.core.auth import utcnow

GENESIS = "0" * 64
_HASHED = ("person", "actor_kind", "actor_id", "actor_label", "on_behalf_of", "action", "resource",
           "purpose", "outcome", "created_at")
ACTOR_WORDS = {
    "pro": ("un professionnel de santé", "a health professional"),
    "emergency": ("un accès en urgence", "an emergency access"),
}


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, event: dict) -> str:
    """SHA-256 over the previous hash and the event's fields in a canonical form."""
    body = {k: (_stamp(event[k]) if k == "created_at" else str(event[k]) if event[k] is not None else None)
            for k in _HASHED}
    payload = prev_hash + json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


async def _lock_person_chain(person_id: UUID) -> None:
    """Serialise appends to one person's chain (SQLite already has a single writer)."""
    engine = database.get_engine()
    if isinstance(engine, PostgresEngine):
        await engine.current_transaction.get().connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(person_id)
        )


async def record(
    person_id: UUID,
    *,
    actor_kind: str,
    actor_id: UUID | str,
    actor_label: str,
    action: str,
    outcome: str = "allowed",
    resource: str = "",
    purpose: str = "",
    on_behalf_of: str | None = None,
) -> None:
    """Append one event to the person's access history (in the caller's transaction if any).

    The first allowed access by a professional new to this record also leaves
    a notice for the citizen.
    """
    async with database.transaction():
        await _lock_person_chain(person_id)
        last = await database.fetch(
            "SELECT hash FROM access_event WHERE person = {} ORDER BY id DESC LIMIT 1", person_id
        )
        event = {
            "person": person_id, "actor_kind": actor_kind, "actor_id": str(actor_id),
            "actor_label": actor_label[:200], "on_behalf_of": on_behalf_of, "action": action,
            "resource": resource, "purpose": purpose, "outcome": outcome, "created_at": utcnow(),
        }
        if actor_kind in ACTOR_WORDS and outcome == "allowed":
            await _notify_first_access(person_id, event)
        prev = last[0]["hash"] if last else GENESIS
        await database.execute(
            "INSERT INTO access_event (person, actor_kind, actor_id, actor_label, on_behalf_of, action, "
            "resource, purpose, outcome, created_at, prev_hash, hash) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            *(event[k] for k in _HASHED), prev, event_hash(prev, event),
        )


async def _notify_first_access(person_id: UUID, event: dict) -> None:
    seen = await database.fetch(
        "SELECT 1 AS seen FROM access_event WHERE person = {} AND actor_id = {} AND outcome = 'allowed' "
        "LIMIT 1", person_id, event["actor_id"],
    )
    if seen and event["actor_kind"] != "emergency":
        return
    fr, en = ACTOR_WORDS[event["actor_kind"]]
    await Notification.insert(Notification(
        person=person_id,
        kind=f"access.{event['actor_kind']}",
        text_fr=f"Nouvel accès à votre dossier : {event['actor_label']} ({fr}).",
        text_en=f"New access to your record: {event['actor_label']} ({en}).",
    ))


async def history(person_id: UUID, *, actor_kind: str | None = None, outcome: str | None = None,
                  since: datetime | None = None, limit: int = 100) -> list[dict]:
    """The person's access history, newest first, with optional filters."""
    where = AccessEvent.person == person_id
    if actor_kind:
        where &= AccessEvent.actor_kind == actor_kind
    if outcome:
        where &= AccessEvent.outcome == outcome
    if since:
        where &= AccessEvent.created_at >= since
    return await AccessEvent.select(
        AccessEvent.actor_kind, AccessEvent.actor_label, AccessEvent.on_behalf_of,
        AccessEvent.action, AccessEvent.resource, AccessEvent.purpose, AccessEvent.outcome,
        AccessEvent.created_at,
    ).where(where).order_by(AccessEvent.id, ascending=False).limit(limit)


async def verify_chain() -> tuple[int, dict | None]:
    """Check every person's chain. Returns (events checked, first broken event or None)."""
    rows = await AccessEvent.select().order_by(AccessEvent.person).order_by(AccessEvent.id)
    last: dict[str, str] = {}
    for count, row in enumerate(rows, start=1):
        key = str(row["person"])
        expected_prev = last.get(key, GENESIS)
        if row["prev_hash"] != expected_prev or row["hash"] != event_hash(expected_prev, row):
            return count, row
        last[key] = row["hash"]
    return len(rows), None
