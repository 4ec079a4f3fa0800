"""Which threads an actor may read and write: the messaging rules, as an SQL condition.

A policy is resolved once per request and handed to the
:class:`~backend.messaging.repository.ThreadRepository`, which adds its
condition to every read, count and write of the messaging tables, so a thread
outside it does not exist for that caller (404).

Rules:
- the citizen side of a thread is its profile: the citizen themself, a parent
  for a minor's profile, a caregiver whose delegation carries the
  ``messaging`` scope (recorded and shown as "X pour Y");
- the professional side is the thread's counterpart: every professional
  attached to the pharmacy (the shared inbox), or the one professional;
- a professional the patient blocked reads and writes nothing, not even in a
  thread of their own pharmacy; their attempt is recorded as refused;
- a professional outside the thread (without a basis of access to the
  patient, or with one but not in the conversation) is refused and recorded
  too; a citizen outside it is not (nothing of the patient's is touched);
- the citizen side starts threads with pharmacies only; a professional
  starts one with a patient they have a basis of access to (gp, granted,
  temporary, emergency).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.access.rules import accessible_profiles, pro_basis, relation_to
from backend.core.auth import Actor
from backend.core.errors import NotFound
from backend.core.names import display_name
from backend.documents import audit
from backend.documents.audit import Who
from backend.identity import people
from backend.professionals import directory

SCOPE = "messaging"  # the delegation scope a caregiver needs
CITIZEN, PRO = "citizen", "pro"
# Refusal reasons stored in the access history (``history.REASONS`` has their words).
BLOCKED = "blocked"
NO_BASIS = "no care relationship"
NOT_PARTICIPANT = "not a thread participant"


@dataclass(frozen=True)
class MessagingPolicy:
    """The threads one actor may see: a side, and the profiles or the counterpart it covers."""

    side: str  # citizen | pro
    person_ids: tuple[UUID, ...] = ()  # citizen side: the profiles the actor may message for
    professional_id: UUID | None = None  # pro side
    structure_id: UUID | None = None  # pro side: the structure whose shared inbox they read

    @property
    def other_side(self) -> str:
        return PRO if self.side == CITIZEN else CITIZEN

    def where(self) -> tuple[str, list]:
        """An SQL condition (``{}`` placeholders) on table ``message_thread``, and its arguments."""
        if self.side == CITIZEN:
            if not self.person_ids:
                return "1 = 0", []
            marks = ", ".join("{}" for _ in self.person_ids)
            return f"message_thread.person IN ({marks})", list(self.person_ids)
        if self.professional_id is None:
            return "1 = 0", []
        if self.structure_id is None:
            return "message_thread.professional = {}", [self.professional_id]
        return ("(message_thread.professional = {} OR message_thread.structure = {})",
                [self.professional_id, self.structure_id])

    def audience(self) -> set[str]:
        """The live-update keys of this side (``core.live``)."""
        if self.side == CITIZEN:
            return {person_key(p) for p in self.person_ids}
        keys = {f"professional:{self.professional_id}"}
        if self.structure_id is not None:
            keys.add(f"structure:{self.structure_id}")
        return keys


def person_key(person_id: UUID) -> str:
    return f"person:{person_id}"


def counterpart_keys(thread: dict) -> set[str]:
    """The live-update keys of a thread's professional side."""
    if thread["structure"] is not None:
        return {f"structure:{thread['structure']}"}
    return {f"professional:{thread['professional']}"}


@dataclass(frozen=True)
class Side:
    """An actor on one side of a thread or a profile: their policy and how they are named."""

    policy: MessagingPolicy
    who: Who
    person_id: UUID | None = None  # the profile (citizen side) or the patient (pro side)

    @property
    def name(self) -> str:
        return self.policy.side


async def citizen_side(actor: Actor, person_id: UUID) -> Side:
    """The citizen side of one profile: themself, a parent, or a caregiver with ``messaging``.

    Raises:
        NotFound: no such right (a professional, another person, a caregiver without the scope).
    """
    relation = await relation_to(actor, person_id, scope=SCOPE)
    on_behalf = None if relation.kind == "self" else await people.full_name(person_id)
    who = Who(relation.kind, str(actor.person_id), await display_name(actor), on_behalf)
    return Side(MessagingPolicy(CITIZEN, person_ids=(person_id,)), who, person_id)


async def citizen_profiles(actor: Actor) -> list[UUID]:
    """Every profile the citizen may message for: their own, their children's, delegated with the scope."""
    if not actor.is_citizen or actor.person_id is None:
        return []
    found = []
    for profile in await accessible_profiles(actor):
        if profile["relation"] == "delegate":
            try:
                await relation_to(actor, profile["id"], scope=SCOPE)
            except NotFound:
                continue
        found.append(profile["id"])
    return found


async def citizen_inbox_policy(actor: Actor) -> MessagingPolicy:
    """The citizen side across every profile the actor may message for."""
    return MessagingPolicy(CITIZEN, person_ids=tuple(await citizen_profiles(actor)))


async def pro_policy(actor: Actor) -> MessagingPolicy:
    """The professional side: their own threads and their structure's shared inbox."""
    structure = await directory.structure_of(actor.professional_id)
    return MessagingPolicy(PRO, professional_id=actor.professional_id,
                           structure_id=structure["id"] if structure else None)


async def pro_who(actor: Actor) -> Who:
    return Who("pro", str(actor.professional_id), await display_name(actor))


async def refuse(who: Who, person_id: UUID, action: str, resource: str, reason: str) -> NotFound:
    """Record a professional's refused attempt on the patient's history; the 404 to raise."""
    await audit.record(who, person_id, action, resource, outcome="refused", purpose=reason)
    return NotFound()


async def pro_side(actor: Actor, person_id: UUID, *, action: str, resource: str = "",
                   member: bool | None = None, policy: MessagingPolicy | None = None) -> Side:
    """A professional on a patient's thread (``member``: whether they are in it), or starting one
    (``member`` None).

    A member of the thread (its professional, or attached to its pharmacy)
    needs no basis of access; anyone else needs one to start a thread and may
    never read another's. A block always refuses.

    Raises:
        NotFound: unknown or closed record (not recorded); blocked, no basis or not in the thread
            (recorded as refused on the patient's history).
    """
    basis, profession, blocked = await pro_basis(actor.professional_id, person_id)
    if not profession:
        raise NotFound()
    who = await pro_who(actor)
    if blocked:
        raise await refuse(who, person_id, action, resource, BLOCKED)
    if member is None and basis is None:
        raise await refuse(who, person_id, action, resource, NO_BASIS)
    if member is False:
        raise await refuse(who, person_id, action, resource, NO_BASIS if basis is None else NOT_PARTICIPANT)
    return Side(policy or await pro_policy(actor), who, person_id)


async def blocked_people(professional_id: UUID | None, person_ids: set[UUID]) -> set[UUID]:
    """Which of these patients blocked the professional (their threads are hidden from them)."""
    found = set()
    for person_id in person_ids:
        _, profession, blocked = await pro_basis(professional_id, person_id)
        if blocked or not profession:
            found.add(person_id)
    return found
