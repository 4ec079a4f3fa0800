"""The access rules: who may act on which citizen's profile, decided in one place.

Every service that touches a profile asks :func:`relation_to` first and
scopes its query by the answer. Anything not allowed answers 404 so that the
existence of another person's record is never revealed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from backend.access.tables import Delegation
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import NotFound
from backend.identity import people

# Scopes a citizen may delegate to a trusted person.
SCOPES = ("present_card", "read_documents", "add_documents", "messaging")
_MATRIX: dict[str, dict] = json.loads((Path(__file__).parent / "matrix.json").read_text())["professions"]


def matrix_row(profession_code: str) -> dict | None:
    """The profession's row of the access matrix: ``{"categories": [...], "deny_types": [...]}``."""
    return _MATRIX.get(profession_code)


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
    if await people.is_guardian(actor.person_id, person_id):
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


async def delegation_in_force(delegation_id: UUID) -> bool:
    """Whether a delegation is neither revoked nor past its end."""
    return await Delegation.exists().where(
        (Delegation.id == delegation_id) & Delegation.revoked_at.is_null() & (Delegation.ends_at > utcnow())
    )


async def accessible_profiles(actor: Actor) -> list[dict]:
    """The profiles the citizen can switch to: themself, their children, delegated cards."""
    if actor.person_id is None:
        return []
    me = await people.profile(actor.person_id)
    profiles = [{**me, "relation": "self"}]
    profiles += [{**r, "relation": "parent"} for r in await people.children_profiles(actor.person_id)]
    delegated = await Delegation.select(Delegation.owner, Delegation.ends_at).where(
        (Delegation.delegate == actor.person_id)
        & Delegation.revoked_at.is_null()
        & (Delegation.ends_at > utcnow())
        & Delegation.accepted_at.is_not_null()
    )
    if delegated:
        ends = {d["owner"]: d["ends_at"] for d in delegated}
        rows = await people.profiles(list(ends))
        profiles += [{**r, "relation": "delegate", "until": ends[r["id"]]} for r in rows]
    return profiles


_PRO_BASIS_SQL = (
    "SELECT p.profession_code, "
    "EXISTS (SELECT 1 FROM professional_block b WHERE b.person = {} AND b.professional = p.id) AS blocked, "
    "(SELECT MIN(c.role) FROM care_relation c WHERE c.person = {} AND c.professional = p.id "
    " AND c.revoked_at IS NULL) AS role, "
    "EXISTS (SELECT 1 FROM temporary_access t WHERE t.person = {} AND t.redeemed_by = p.id "
    " AND t.revoked_at IS NULL AND t.expires_at > {}) AS temporary, "
    "EXISTS (SELECT 1 FROM emergency_access e WHERE e.person = {} AND e.professional = p.id "
    " AND e.expires_at > {} AND NOT x.emergency_access_opposed) AS emergency "
    "FROM professional p JOIN insured_person x ON x.id = {} AND x.closed_at IS NULL WHERE p.id = {}"
)


async def pro_basis(professional_id: UUID | None, person_id: UUID) -> tuple[str | None, str, bool]:
    """(basis, profession code, blocked) of a professional towards a person, in one query.

    The basis is ``gp`` or ``granted`` (care team), ``temporary`` (a redeemed
    code), ``emergency`` (a declared emergency the patient has not opposed),
    or ``None``. A closed record, or an unknown professional, gives
    ``(None, "", False)``. Authorship is the documents slice's business.
    """
    now = utcnow()
    rows = await database.fetch(_PRO_BASIS_SQL, person_id, person_id, person_id, now, person_id, now,
                                person_id, professional_id)
    if not rows:
        return None, "", False
    r = rows[0]
    if r["blocked"]:
        return None, r["profession_code"], True
    basis = r["role"] or ("temporary" if r["temporary"] else "emergency" if r["emergency"] else None)
    return basis, r["profession_code"], False
