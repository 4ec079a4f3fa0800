"""The access rules: who may act on which citizen's profile, decided in one place.

Every service that touches a profile asks :func:`relation_to` first and
scopes its query by the answer. Anything not allowed answers 404 so that the
existence of another person's record is never revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.access.tables import Delegation
from backend.core.auth import Actor, utcnow
from backend.core.errors import NotFound
from backend.identity.tables import Guardianship, InsuredPerson

# Scopes a citizen may delegate to a trusted person.
SCOPES = ("present_card", "read_documents", "add_documents", "messaging")


@dataclass(frozen=True, slots=True)
class Relation:
    """How the actor relates to a profile: ``self``, ``parent`` or ``delegate``."""

    kind: str
    person_id: UUID
    delegation_id: UUID | None = None
    scopes: tuple[str, ...] = ()

    @property
    def is_self(self) -> bool:
        return self.kind == "self"


async def relation_to(actor: Actor, person_id: UUID, scope: str | None = None) -> Relation:
    """Resolve the actor's right on ``person_id`` (a citizen actor only).

    Args:
        actor: the caller.
        person_id: the profile asked for.
        scope: for a delegate, the scope the action needs.

    Raises:
        NotFound: no relation (or a delegation without the scope, expired or revoked).
    """
    if not actor.is_citizen or actor.person_id is None:
        raise NotFound()
    if person_id == actor.person_id:
        return Relation("self", person_id)
    child = await Guardianship.exists().where(
        (Guardianship.parent == actor.person_id) & (Guardianship.child == person_id)
    )
    if child:
        return Relation("parent", person_id)
    now = utcnow()
    delegations = await Delegation.select(Delegation.id, Delegation.scopes).where(
        (Delegation.owner == person_id)
        & (Delegation.delegate == actor.person_id)
        & Delegation.revoked_at.is_null()
        & (Delegation.ends_at > now)
        & Delegation.accepted_at.is_not_null()
    )
    for d in delegations:
        if scope is None or scope in d["scopes"]:
            return Relation("delegate", person_id, d["id"], tuple(d["scopes"]))
    raise NotFound()


async def accessible_profiles(actor: Actor) -> list[dict]:
    """The profiles the citizen can switch to: themself, their children, delegated cards."""
    if actor.person_id is None:
        return []
    cols = (InsuredPerson.id, InsuredPerson.first_name, InsuredPerson.birth_name,
            InsuredPerson.used_name, InsuredPerson.birth_date)
    me = await InsuredPerson.select(*cols).where(InsuredPerson.id == actor.person_id).first()
    profiles = [{**me, "relation": "self"}]
    children = await Guardianship.select(Guardianship.child).where(
        Guardianship.parent == actor.person_id
    )
    if children:
        rows = await InsuredPerson.select(*cols).where(
            InsuredPerson.id.is_in([c["child"] for c in children])
        ).order_by(InsuredPerson.birth_date)
        profiles += [{**r, "relation": "parent"} for r in rows]
    delegated = await Delegation.select(Delegation.owner, Delegation.ends_at).where(
        (Delegation.delegate == actor.person_id)
        & Delegation.revoked_at.is_null()
        & (Delegation.ends_at > utcnow())
        & Delegation.accepted_at.is_not_null()
    )
    if delegated:
        ends = {d["owner"]: d["ends_at"] for d in delegated}
        rows = await InsuredPerson.select(*cols).where(InsuredPerson.id.is_in(list(ends)))
        profiles += [{**r, "relation": "delegate", "until": ends[r["id"]]} for r in rows]
    return profiles
