"""Who may see and act on a person's prescriptions, as an SQL condition for the repository.

A policy is resolved once per request (:func:`policy_for`) and handed to the
:class:`~backend.prescriptions.repository.PrescriptionRepository`, which turns
it into a condition of every statement, so no feature can skip the rules.

- The citizen, a parent for a minor, and a caregiver with the ``read_documents``
  scope see every prescription of the profile; sending one to a pharmacy needs
  the ``messaging`` scope.
- A prescriber (a profession allowed to prescribe, ``rules.json``) writes for a
  patient only with a basis of access (care team, temporary code, emergency),
  and then sees the prescriptions they wrote; what was dispensed only when the
  patient said yes.
- A pharmacist sees a prescription once their pharmacy holds its key: they
  typed or scanned its number (as with paper) or the patient sent it to the
  pharmacy in a message.
- A professional the patient blocked sees nothing and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.access.rules import pro_basis, relation_to
from backend.core.auth import Actor
from backend.core.errors import NotFound

PHARMACIST = "21"


@dataclass(frozen=True)
class PrescriptionPolicy:
    """What one actor may do with one person's prescriptions; ``refusal`` when nothing at all."""

    person_id: UUID
    kind: str  # self | parent | delegate | prescriber | pharmacist
    professional_id: UUID | None = None
    structure_id: UUID | None = None
    profession_code: str = ""
    basis: str | None = None  # the professional's basis of access to the record, if any
    scopes: tuple[str, ...] = ()
    refusal: str | None = None  # blocked | no care relationship

    @property
    def is_pro(self) -> bool:
        return self.kind in ("prescriber", "pharmacist")

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    @property
    def may_send(self) -> bool:
        """The citizen side may send a prescription to a pharmacy (a caregiver needs ``messaging``)."""
        return self.kind in ("self", "parent") or (self.kind == "delegate" and "messaging" in self.scopes)


async def policy_for(actor: Actor, person_id: UUID, *, structure_id: UUID | None = None,
                     scope: str = "read_documents") -> PrescriptionPolicy:
    """Resolve the actor's rights on a person's prescriptions.

    Args:
        actor: the caller.
        person_id: the patient.
        structure_id: for a pharmacist, the pharmacy they work in.
        scope: what a caregiver needs (``read_documents`` to read, ``messaging`` to send).

    Raises:
        NotFound: a citizen with no relation to the person, or an unknown or closed record.
    """
    if actor.is_pro:
        basis, profession, blocked = await pro_basis(actor.professional_id, person_id)
        if not profession:
            raise NotFound()
        kind = "pharmacist" if profession == PHARMACIST else "prescriber"
        common = {"professional_id": actor.professional_id, "structure_id": structure_id,
                  "profession_code": profession, "basis": basis}
        if blocked:
            return PrescriptionPolicy(person_id, kind, refusal="blocked", **common)
        return PrescriptionPolicy(person_id, kind, **common)
    relation = await relation_to(actor, person_id, scope=scope)
    return PrescriptionPolicy(person_id, relation.kind, scopes=relation.scopes)
