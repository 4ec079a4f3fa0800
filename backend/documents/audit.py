"""Who acted on a record, as the access history names them, and the one call that records it.

Services decide first (policy, row, rule) and record once, with the real outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.access import history
from backend.core.auth import Actor
from backend.core.names import display_name
from backend.documents.policy import DocumentPolicy
from backend.identity import people


@dataclass(frozen=True)
class Who:
    """The actor as recorded: kind (self, parent, delegate, pro, emergency, operator), id and label."""

    kind: str
    actor_id: str
    label: str
    on_behalf_of: str | None = None


async def who(actor: Actor, policy: DocumentPolicy) -> Who:
    """Name the actor for the record's history ("X pour Y" for a parent or a caregiver)."""
    label = await display_name(actor)
    if policy.is_pro:
        kind = "emergency" if policy.basis == "emergency" else "pro"
        return Who(kind, str(actor.professional_id), label)
    on_behalf = None
    if policy.kind in ("delegate", "parent"):
        on_behalf = await people.full_name(policy.person_id)
    return Who(policy.kind, str(actor.person_id), label, on_behalf)


OPERATOR = Who("operator", "operator", history.ACTOR_LABELS["operator"][0])  # shown in the reader's language


async def record(who: Who, person_id: UUID, action: str, resource: str = "", *, outcome: str = "allowed",
                 purpose: str = "", hidden: bool = False, always: bool = False) -> None:
    """Append one event to the person's access history.

    A citizen's own reads and changes are not recorded (it is their record),
    unless ``always`` (an export takes everything away and is always recorded).
    ``hidden`` marks an event about a minor's secret: guardians never see it.
    """
    if who.kind == "self" and not always:
        return
    await history.record(person_id, actor_kind=who.kind, actor_id=who.actor_id, actor_label=who.label,
                         action=action, resource=resource, outcome=outcome, purpose=purpose,
                         on_behalf_of=who.on_behalf_of, hidden_from_guardians=hidden)


async def notify_new_document(person_id: UUID, author_label: str, structure_name: str) -> None:
    """Tell the citizen a professional added a document they can see (never its title)."""
    author = f"{author_label} ({structure_name})" if structure_name else author_label
    await history.notify(person_id, "notice.document_added",
                         f"{author} a ajouté un document à votre dossier.",
                         f"{author} added a document to your record.")
