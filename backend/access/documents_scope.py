"""Which of a person's documents an actor may see: the one place the record's rules live.

A scope is resolved once per request (:func:`document_scope`) and turned into
an SQL filter (:meth:`DocumentScope.where`) so lists, counts and single reads
all apply the same rules inside the query.

Rules, in order:
- a blocked professional sees nothing, even with a temporary code;
- a professional needs a basis: registered GP or granted by the citizen
  (presumed consent), a redeemed temporary code, or a declared emergency;
  without one, the author of a document still sees the documents they wrote;
- with a basis, a professional sees the document classes their profession
  may see (``matrix.json``), never a masked document unless they wrote it or
  are the registered GP, never a document not yet announced to the patient
  unless they wrote it; an emergency never opens masked documents;
- the citizen (and a caregiver with the ``read_documents`` scope) sees every
  active document already announced; a parent sees the same for a minor,
  except the minor's secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from backend.access.rules import relation_to
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import NotFound

_MATRIX = json.loads((Path(__file__).parent / "matrix.json").read_text())["professions"]
_CATALOGUE = json.loads(
    (Path(__file__).parent.parent / "documents" / "catalogue.json").read_text()
)["types"]


def allowed_types(profession_code: str) -> frozenset[str]:
    """The document classes a profession may see, from the matrix data file."""
    row = _MATRIX.get(profession_code)
    if row is None:
        return frozenset()
    cats = set(row["categories"])
    return frozenset(code for code, t in _CATALOGUE.items()
                     if ("*" in cats or t["category"] in cats) and code not in row["deny_types"])


@dataclass(frozen=True)
class DocumentScope:
    """What one actor may do with one person's documents."""

    person_id: UUID
    kind: str  # self | parent | delegate | pro
    can_add: bool = False
    can_manage: bool = False  # mask, delete the citizen's own uploads
    professional_id: UUID | None = None
    basis: str | None = None  # gp | granted | temporary | emergency | author
    types: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_pro(self) -> bool:
        return self.kind == "pro"

    def where(self) -> tuple[str, list]:
        """An SQL condition (``{}`` placeholders) and its arguments, for table ``document``."""
        now = utcnow()
        sql = "person = {} AND status = 'active'"
        args: list = [self.person_id]
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


_PRO_BASIS_SQL = (
    "SELECT p.profession_code, "
    "EXISTS (SELECT 1 FROM professional_block b WHERE b.person = {} AND b.professional = p.id) AS blocked, "
    "(SELECT MIN(c.role) FROM care_relation c WHERE c.person = {} AND c.professional = p.id "
    " AND c.revoked_at IS NULL) AS role, "
    "EXISTS (SELECT 1 FROM temporary_access t WHERE t.person = {} AND t.redeemed_by = p.id "
    " AND t.revoked_at IS NULL AND t.expires_at > {}) AS temporary, "
    "EXISTS (SELECT 1 FROM emergency_access e WHERE e.person = {} AND e.professional = p.id "
    " AND e.expires_at > {}) AS emergency, "
    "EXISTS (SELECT 1 FROM document d WHERE d.person = {} AND d.author_professional = p.id) AS authored "
    "FROM professional p WHERE p.id = {} "
    "AND EXISTS (SELECT 1 FROM insured_person x WHERE x.id = {} AND x.closed_at IS NULL)"
)


async def pro_basis(professional_id: UUID, person_id: UUID) -> tuple[str | None, str, bool]:
    """(basis, profession code, blocked) of a professional towards a person, in one query."""
    now = utcnow()
    rows = await database.fetch(_PRO_BASIS_SQL, person_id, person_id, person_id, now, person_id, now,
                                person_id, professional_id, person_id)
    if not rows:
        return None, "", False
    r = rows[0]
    if r["blocked"]:
        return None, r["profession_code"], True
    basis = r["role"] or ("temporary" if r["temporary"] else "emergency" if r["emergency"]
                          else "author" if r["authored"] else None)
    return basis, r["profession_code"], False


async def _record_refusal(actor: Actor, person_id: UUID, reason: str) -> None:
    from backend.access import history
    from backend.accounts.services import display_name

    await history.record(person_id, actor_kind="pro", actor_id=actor.professional_id,
                         actor_label=await display_name(actor), action="documents.access",
                         outcome="refused", purpose=reason)


async def document_scope(actor: Actor, person_id: UUID, *, write: bool = False) -> DocumentScope:
    """Resolve the actor's rights on a person's documents.

    Raises:
        NotFound: no right at all (another person, blocked, no basis, revoked delegation).
    """
    if actor.is_pro:
        basis, profession, blocked = await pro_basis(actor.professional_id, person_id)
        if basis is None:
            if profession:  # the record exists: the refused attempt goes into its history
                await _record_refusal(actor, person_id, "blocked" if blocked else "no care relationship")
            raise NotFound()
        return DocumentScope(person_id, "pro", can_add=basis != "author",
                             professional_id=actor.professional_id, basis=basis,
                             types=allowed_types(profession))
    relation = await relation_to(actor, person_id, scope="add_documents" if write else "read_documents")
    if relation.kind == "delegate":
        return DocumentScope(person_id, "delegate", can_add="add_documents" in relation.scopes)
    return DocumentScope(person_id, relation.kind, can_add=True, can_manage=True)
