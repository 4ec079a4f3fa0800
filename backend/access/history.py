"""Recording access events: every use of a citizen's data by someone else, allowed or refused."""

from __future__ import annotations

from uuid import UUID

from backend.access.tables import AccessEvent


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
    """Append one event to the person's access history."""
    await AccessEvent.insert(
        AccessEvent(
            person=person_id,
            actor_kind=actor_kind,
            actor_id=str(actor_id),
            actor_label=actor_label[:200],
            on_behalf_of=on_behalf_of,
            action=action,
            resource=resource,
            purpose=purpose,
            outcome=outcome,
        )
    )


async def history(person_id: UUID, limit: int = 100) -> list[dict]:
    return await AccessEvent.select(
        AccessEvent.actor_kind, AccessEvent.actor_label, AccessEvent.on_behalf_of,
        AccessEvent.action, AccessEvent.purpose, AccessEvent.outcome, AccessEvent.created_at,
    ).where(AccessEvent.person == person_id).order_by(AccessEvent.id, ascending=False).limit(limit)
