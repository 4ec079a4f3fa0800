"""Which of a person's documents an actor may see and change: the record's rules, as an SQL condition.

A policy is resolved once per request (:func:`policy_for`) and handed to the
:class:`~backend.documents.repository.DocumentRepository`, which adds its
condition to every read, count, export, duplicate check and write. No other
code queries the ``document`` table, so no feature can skip the rules.

Rules, in order:
- a blocked professional sees nothing, even with a temporary code or as author;
- a professional needs a basis: registered GP or granted by the citizen
  (presumed consent), a redeemed temporary code, or a declared emergency the
  patient has not opposed; without one, the author of a document still sees
  the documents they wrote;
- with a basis, a professional sees the document classes their profession may
  see (``access/matrix.json``), never a masked document unless they wrote it
  or are the registered GP, never a document not yet announced to the patient
  unless they wrote it; an emergency never opens masked documents;
- the citizen (and a caregiver with the ``read_documents`` scope) sees every
  active document already announced; a parent sees the same for a minor,
  except the minor's secret;
- the operator's import sees the whole record of the person it feeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from backend.access.rules import matrix_row, pro_basis, relation_to
from backend.core.auth import Actor, utcnow
from backend.core.errors import NotFound
from backend.documents.catalogue import TYPES as _CATALOGUE
from backend.documents.repository import authored_any

VISIBLE = ("active",)
EXPORTED = ("active", "archived", "replaced")


def allowed_types(profession_code: str) -> frozenset[str]:
    """The document classes a profession may see, from the access matrix."""
    row = matrix_row(profession_code)
    if row is None:
        return frozenset()
    cats = set(row["categories"])
    return frozenset(code for code, t in _CATALOGUE.items()
                     if ("*" in cats or t["category"] in cats) and code not in row["deny_types"])


@dataclass(frozen=True)
class DocumentPolicy:
    """What one actor may do with one person's documents.

    ``refusal`` is set when the actor has no right at all: the repository
    then finds nothing, and the caller records the refusal once.
    """

    person_id: UUID
    kind: str  # self | parent | delegate | pro | operator
    can_add: bool = False
    can_manage: bool = False  # mask, delete the citizen side's own uploads
    professional_id: UUID | None = None
    basis: str | None = None  # gp | granted | temporary | emergency | author
    types: frozenset[str] = field(default_factory=frozenset)
    refusal: str | None = None  # blocked | no care relationship

    @property
    def is_pro(self) -> bool:
        return self.kind == "pro"

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    def where(self, statuses: tuple[str, ...] = VISIBLE) -> tuple[str, list]:
        """An SQL condition (``{}`` placeholders) and its arguments, for table ``document``."""
        if self.refused:
            return "1 = 0", []
        now = utcnow()
        sql = f"person = {{}} AND status IN ({', '.join('{}' for _ in statuses)})"
        args: list = [self.person_id, *statuses]
        if self.kind == "operator":
            return sql, args
        announced = "(patient_visible_after IS NULL OR patient_visible_after <= {})"
        if not self.is_pro:
            sql += " AND " + announced
            args.append(now)
            if self.kind == "parent":
                sql += " AND hidden_from_guardians = {}"
                args.append(False)
            return sql, args
        if self.basis == "author" or not self.types:
            return sql + " AND author_professional = {}", [*args, self.professional_id]
        placeholders = ", ".join("{}" for _ in self.types)
        rule = f"(type_code IN ({placeholders}) AND {announced}"
        rule_args: list = [*sorted(self.types), now]
        if self.basis != "gp":
            rule += " AND masked = {}"
            rule_args.append(False)
        rule += ")"
        return (f"{sql} AND (author_professional = {{}} OR {rule})",
                [*args, self.professional_id, *rule_args])


async def policy_for(actor: Actor, person_id: UUID, *, write: bool = False, feed: bool = False
                     ) -> DocumentPolicy:
    """Resolve the actor's rights on a person's documents.

    Args:
        actor: the caller.
        person_id: the record asked for.
        write: the citizen side wants to add a document (needs ``add_documents`` as a caregiver).
        feed: a professional who identified the patient by INS and traits feeds a document:
            authorship is presumed consent, so only a block refuses.

    Returns:
        The policy; ``refusal`` is set for a professional without any right on an open record.

    Raises:
        NotFound: a citizen with no relation to the person, or an unknown or closed record.
    """
    if actor.is_pro:
        basis, profession, blocked = await pro_basis(actor.professional_id, person_id)
        if not profession:  # unknown or closed record: nothing to record against
            raise NotFound()
        pro = {"professional_id": actor.professional_id, "types": allowed_types(profession)}
        if blocked:
            return DocumentPolicy(person_id, "pro", refusal="blocked", **pro)
        if basis is None and (feed or await authored_any(actor.professional_id, person_id)):
            basis = "author"
        if basis is None:
            return DocumentPolicy(person_id, "pro", refusal="no care relationship", **pro)
        return DocumentPolicy(person_id, "pro", can_add=feed or basis != "author", basis=basis, **pro)
    relation = await relation_to(actor, person_id, scope="add_documents" if write else "read_documents")
    if relation.kind == "delegate":
        return DocumentPolicy(person_id, "delegate", can_add="add_documents" in relation.scopes)
    return DocumentPolicy(person_id, relation.kind, can_add=True, can_manage=True)


def operator_policy(person_id: UUID) -> DocumentPolicy:
    """The operator's import: it feeds and sees the whole record of one person."""
    return DocumentPolicy(person_id, "operator", can_add=True)
