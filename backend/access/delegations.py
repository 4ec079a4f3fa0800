"""Delegations: a citizen invites a trusted person, who accepts with a one-time code."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from backend.access import history
from backend.access.rules import SCOPES, relation_to
from backend.access.tables import Delegation
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.crypto import keyed_hash, new_code, normalise_code
from backend.core.errors import Conflict, NotFound, Unprocessable
from backend.core.settings import Settings

MAX_DAYS = 365
INVITATION_TTL = timedelta(days=7)


def _public(row: dict) -> dict:
    now = utcnow()
    if row["revoked_at"]:
        state = "revoked"
    elif row["ends_at"] <= now:
        state = "expired"
    elif row["accepted_at"]:
        state = "active"
    else:
        state = "pending"
    return {
        "id": row["id"],
        "label": row["label"],
        "scopes": list(row["scopes"]),
        "ends_at": row["ends_at"],
        "created_at": row["created_at"],
        "accepted_at": row["accepted_at"],
        "revoked_at": row["revoked_at"],
        "state": state,
    }


async def create(
    settings: Settings, actor: Actor, owner_id: UUID, label: str, scopes: list[str], ends_at: datetime
) -> dict:
    """Create a delegation of the actor's own profile and return its one-time invitation code."""
    relation = await relation_to(actor, owner_id)
    if not relation.is_self:
        raise NotFound()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise Unprocessable(
            f"Portée inconnue : {', '.join(unknown) or '(aucune)'} ; "
            f"portées possibles : {', '.join(SCOPES)}.",
            detail_en=f"Unknown scope: {', '.join(unknown) or '(none)'}; allowed: {', '.join(SCOPES)}.",
            errors=[{"field": "scopes", "rule": "enum", "message": "portée inconnue",
                     "message_en": "unknown scope"}],
        )
    now = utcnow()
    if ends_at.tzinfo is None or ends_at <= now or ends_at > now + timedelta(days=MAX_DAYS):
        raise Unprocessable(
            f"Date de fin invalide : elle doit être dans le futur et à moins de {MAX_DAYS} jours.",
            detail_en=f"Invalid end date: it must be in the future and within {MAX_DAYS} days.",
            errors=[{"field": "ends_at", "rule": "range", "message": "hors limites",
                     "message_en": "out of range"}],
        )
    code = new_code()
    row = await Delegation.insert(
        Delegation(
            owner=owner_id,
            label=label.strip()[:100],
            scopes=sorted(set(scopes)),
            invitation_hash=keyed_hash(settings.secrets.hmac_key, f"invite:{normalise_code(code)}"),
            ends_at=ends_at,
        )
    ).returning(*Delegation.all_columns())
    return {**_public(row[0]), "invitation_code": code}


async def list_for_owner(actor: Actor, owner_id: UUID) -> list[dict]:
    relation = await relation_to(actor, owner_id)
    if not relation.is_self:
        raise NotFound()
    rows = await Delegation.select().where(Delegation.owner == owner_id).order_by(
        Delegation.created_at, ascending=False
    )
    return [_public(r) for r in rows]


async def revoke(actor: Actor, delegation_id: UUID) -> None:
    """Revoke at once: the delegate's next request is refused."""
    if actor.person_id is None:
        raise NotFound()
    rows = await Delegation.update({Delegation.revoked_at: utcnow()}).where(
        (Delegation.id == delegation_id)
        & (Delegation.owner == actor.person_id)
        & Delegation.revoked_at.is_null()
    ).returning(Delegation.id)
    if not rows:
        raise NotFound()


async def accept(settings: Settings, actor: Actor, code: str, actor_label: str) -> dict:
    """The trusted person accepts with the code the citizen gave them."""
    if actor.person_id is None:
        raise NotFound()
    code_hash = keyed_hash(settings.secrets.hmac_key, f"invite:{normalise_code(code)}")
    async with database.transaction():
        row = await Delegation.select().where(Delegation.invitation_hash == code_hash).first()
        now = utcnow()
        if (
            row is None
            or row["accepted_at"]
            or row["revoked_at"]
            or row["ends_at"] <= now
            or row["created_at"] + INVITATION_TTL <= now
        ):
            raise Unprocessable(
                "Code d'invitation inconnu, expiré ou déjà utilisé.",
                detail_en="Unknown, expired or already used invitation code.",
            )
        if row["owner"] == actor.person_id:
            raise Conflict("Vous ne pouvez pas vous déléguer votre propre carte.",
                           detail_en="You cannot delegate your own card to yourself.")
        await Delegation.update(
            {Delegation.delegate: actor.person_id, Delegation.accepted_at: now}
        ).where(Delegation.id == row["id"])
        await history.record(
            row["owner"], actor_kind="delegate", actor_id=actor.person_id, actor_label=actor_label,
            action="delegation.accept",
        )
        await history.notify(
            row["owner"], "notice.delegation_accepted",
            f"{actor_label} a accepté votre invitation « {row['label']} » et peut agir pour vous.",
            f"{actor_label} accepted your invitation '{row['label']}' and may act for you.")
    return {**_public({**row, "accepted_at": now}), "owner": row["owner"]}


async def export_rows(owner_id: UUID) -> list[dict]:
    """The delegations a citizen gave, for their data export."""
    return await Delegation.select(
        Delegation.id, Delegation.label, Delegation.scopes, Delegation.ends_at, Delegation.created_at,
        Delegation.accepted_at, Delegation.revoked_at).where(Delegation.owner == owner_id)


async def revoke_all(person_id: UUID, now: datetime) -> None:
    """End every delegation the person gave or received (in the caller's transaction if any)."""
    await Delegation.update({Delegation.revoked_at: now}).where(
        ((Delegation.owner == person_id) | (Delegation.delegate == person_id))
        & Delegation.revoked_at.is_null())
