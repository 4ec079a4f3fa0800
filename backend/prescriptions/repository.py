"""The one door to the prescription tables.

Every read and write of a person's prescriptions goes through a
:class:`PrescriptionRepository` built from the request's
:class:`~backend.prescriptions.policy.PrescriptionPolicy`, whose SQL condition is
part of every statement. The few unscoped statements are module functions with
a narrow purpose: :func:`locate` (whose prescription an id or a number is, to
build the policy) and :func:`number_taken`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from backend.core import database
from backend.core.auth import utcnow
from backend.core.errors import Conflict, NotFound

if TYPE_CHECKING:
    from backend.prescriptions.policy import PrescriptionPolicy

_PRESCRIPTION = ("p.id, p.number, p.person, p.prescriber, p.status, p.authored_on, p.first_dispense_by, "
                 "p.treatment_end, p.dispensing_visible, p.patient_weight_kg, p.document, p.cancelled_at")
_LINE = ("id, prescription, position, cis, label, dosage, dosage_text, quantity, quantity_unit, renewals, "
         "non_substitutable, non_substitution_reason, dispensed")
_DISPENSE = ("id, line, prescription, pharmacist, structure, structure_name, quantity, cis, label, "
             "substitution_type, substitution_reason, handed_over_at")
_LINE_INSERTED = ("position", "cis", "label", "dosage", "dosage_text", "quantity", "quantity_unit",
                  "renewals", "non_substitutable", "non_substitution_reason")


class Refused(NotFound):
    """The policy does not allow this: answered as 404, like a prescription that does not exist."""


class Overtaken(Conflict):
    """Another pharmacy dispensed the same line in the meantime."""


def overtaken(field: str = "lines") -> Overtaken:
    return Overtaken("Cette ligne vient d'être délivrée par une autre pharmacie : rechargez l'ordonnance.",
                     detail_en="This line was just dispensed by another pharmacy: reload the prescription.",
                     errors=[{"field": field, "rule": "concurrent", "message": "ligne déjà modifiée",
                              "message_en": "line changed meanwhile"}])


@dataclass(frozen=True)
class Location:
    id: UUID
    person_id: UUID


def condition(policy: PrescriptionPolicy) -> tuple[str, list]:
    """The policy as an SQL condition (``{}`` placeholders) and its arguments, for ``prescription p``."""
    if policy.refused:
        return "1 = 0", []
    if policy.kind == "prescriber":
        return "p.person = {} AND p.prescriber = {}", [policy.person_id, policy.professional_id]
    if policy.kind == "pharmacist":
        return ("p.person = {} AND EXISTS (SELECT 1 FROM prescription_opening o "
                "WHERE o.prescription = p.id AND (o.structure = {} OR o.professional = {}))",
                [policy.person_id, policy.structure_id, policy.professional_id])
    return "p.person = {}", [policy.person_id]


class PrescriptionRepository:
    """A person's prescriptions as one actor may see and change them."""

    def __init__(self, policy: PrescriptionPolicy) -> None:
        self.policy = policy

    async def get(self, prescription_id: UUID) -> dict | None:
        """One visible prescription with its lines (and dispensings), or ``None``."""
        rows = await self._prescriptions("p.id = {}", [prescription_id], limit=1, offset=0)
        return rows[0] if rows else None

    async def page(self, *, limit: int, offset: int) -> list[dict]:
        """The visible prescriptions, newest first, each with its lines and dispensings."""
        return await self._prescriptions("1 = 1", [], limit=limit, offset=offset)

    async def count(self) -> int:
        where, args = condition(self.policy)
        rows = await database.fetch(f"SELECT COUNT(*) AS n FROM prescription p WHERE {where}", *args)  # noqa: S608
        return rows[0]["n"]

    async def _prescriptions(self, extra: str, extra_args: list, *, limit: int, offset: int) -> list[dict]:
        where, args = condition(self.policy)
        rows = await database.fetch(
            f"SELECT {_PRESCRIPTION} FROM prescription p WHERE {where} AND {extra} "  # noqa: S608
            "ORDER BY p.authored_on DESC, p.id LIMIT {} OFFSET {}", *args, *extra_args, limit, offset)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ", ".join("{}" for _ in ids)
        lines = await database.fetch(
            f"SELECT {_LINE} FROM prescription_line WHERE prescription IN ({marks}) "  # noqa: S608
            "ORDER BY prescription, position", *ids)
        dispenses = await database.fetch(
            f"SELECT {_DISPENSE} FROM prescription_dispense WHERE prescription IN ({marks}) "  # noqa: S608
            "ORDER BY handed_over_at, id", *ids)
        by_line: dict[Any, list[dict]] = {}
        for d in dispenses:
            by_line.setdefault(d["line"], []).append(d)
        by_prescription: dict[Any, list[dict]] = {}
        for line in lines:
            line["dosage"] = json.loads(line["dosage"])
            line["dispenses"] = by_line.get(line["id"], [])
            by_prescription.setdefault(line["prescription"], []).append(line)
        for row in rows:
            row["lines"] = by_prescription.get(row["id"], [])
        return rows

    # --- writes --------------------------------------------------------------------------

    async def insert(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> UUID:
        """Write a prescription and its lines (in the caller's transaction, or a new one)."""
        policy = self.policy
        if policy.kind != "prescriber" or policy.refused or values["person"] != policy.person_id:
            raise Refused()
        prescription_id = uuid4()
        async with database.transaction():
            await database.fetch(
                "INSERT INTO prescription (id, number, person, prescriber, status, authored_on, "
                "first_dispense_by, treatment_end, dispensing_visible, patient_weight_kg, created_at) "
                "VALUES ({}, {}, {}, {}, 'active', {}, {}, {}, {}, {}, {})",
                prescription_id, values["number"], values["person"], self.policy.professional_id,
                values["authored_on"], values["first_dispense_by"], values["treatment_end"],
                values["dispensing_visible"], values.get("patient_weight_kg"), utcnow())
            for line in lines:
                row = {k: line.get(k) for k in _LINE_INSERTED}
                row["dosage"] = json.dumps(row["dosage"], ensure_ascii=False)
                names = ", ".join(["id", "prescription", *row, "dispensed"])
                marks = ", ".join("{}" for _ in range(len(row) + 3))
                await database.fetch(f"INSERT INTO prescription_line ({names}) VALUES ({marks})",  # noqa: S608
                                     uuid4(), prescription_id, *row.values(), 0)
        return prescription_id

    async def attach_document(self, prescription_id: UUID, document_id: UUID) -> None:
        """Link the printable copy stored in the record (the prescriber, right after writing)."""
        where, args = condition(self.policy)
        await database.fetch(
            f"UPDATE prescription SET document = {{}} WHERE id = {{}} AND id IN "  # noqa: S608
            f"(SELECT p.id FROM prescription p WHERE {where})", document_id, prescription_id, *args)

    async def cancel(self, prescription_id: UUID) -> bool:
        """Cancel an active prescription of this prescriber with nothing dispensed; ``False`` otherwise."""
        if self.policy.kind != "prescriber" or self.policy.refused:
            return False
        where, args = condition(self.policy)
        rows = await database.execute(
            "UPDATE prescription SET status = 'cancelled', cancelled_at = {} "  # noqa: S608
            "WHERE id = {} AND status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM prescription_line l WHERE l.prescription = prescription.id "
            "AND l.dispensed > 0) "
            f"AND id IN (SELECT p.id FROM prescription p WHERE {where}) RETURNING id",  # noqa: S608
            utcnow(), prescription_id, *args)
        return bool(rows)

    async def open_for(self, prescription_id: UUID, *, structure_id: UUID | None,
                       professional_id: UUID | None, via: str) -> None:
        """Record that a pharmacy holds this prescription's key (idempotent per pharmacy and way)."""
        if self.policy.refused:
            raise Refused()
        async with database.transaction():
            existing = await database.fetch(
                "SELECT 1 AS one FROM prescription_opening WHERE prescription = {} AND via = {} AND "
                "(structure = {} OR (structure IS NULL AND professional = {})) LIMIT 1",
                prescription_id, via, structure_id, professional_id)
            if not existing:
                await database.fetch(
                    "INSERT INTO prescription_opening (id, prescription, structure, professional, via, "
                    "created_at) VALUES ({}, {}, {}, {}, {}, {})",
                    uuid4(), prescription_id, structure_id, professional_id, via, utcnow())

    async def dispense(self, prescription_id: UUID, items: list[dict[str, Any]], *, structure_name: str
                       ) -> list[UUID]:
        """Record the dispensing of several lines, all or nothing.

        Each item carries ``line``, ``quantity``, ``expected`` (the quantity already dispensed that the
        pharmacist saw), ``limit`` (prescribed quantity × (1 + renewals)) and the product handed over.
        A line is updated only if nobody dispensed it since (``expected``) and the limit holds, in one
        conditional statement, so two pharmacies at the same moment cannot both succeed.

        Raises:
            Refused: the policy is not a pharmacist's holding the key.
            Overtaken: a line changed since the pharmacist read it (the whole dispensing is undone).
        """
        if self.policy.kind != "pharmacist" or self.policy.refused:
            raise Refused()
        where, args = condition(self.policy)
        now = utcnow()
        ids = []
        async with database.transaction():
            visible = await database.fetch(
                f"SELECT p.id FROM prescription p WHERE p.id = {{}} AND p.status = 'active' AND {where}",  # noqa: S608
                prescription_id, *args)
            if not visible:
                raise Refused()
            for item in items:
                updated = await database.fetch(
                    "UPDATE prescription_line SET dispensed = dispensed + {} "
                    "WHERE id = {} AND prescription = {} AND dispensed = {} AND dispensed + {} <= {} "
                    "RETURNING id",
                    item["quantity"], item["line"], prescription_id, item["expected"], item["quantity"],
                    item["limit"])
                if not updated:
                    raise overtaken()
                dispense_id = uuid4()
                await database.fetch(
                    f"INSERT INTO prescription_dispense ({_DISPENSE}) "  # noqa: S608
                    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    dispense_id, item["line"], prescription_id, self.policy.professional_id,
                    self.policy.structure_id, structure_name, item["quantity"], item.get("cis"),
                    item["label"],
                    item.get("substitution_type"), item.get("substitution_reason"), now)
                ids.append(dispense_id)
        return ids


# --- narrow, unscoped statements ---------------------------------------------------------


async def locate(prescription_id: UUID | None = None, number: str | None = None) -> Location | None:
    """Whose prescription an id (or a number) is, to build the caller's policy; never its content."""
    column, value = ("id", prescription_id) if number is None else ("number", number)
    rows = await database.fetch(f"SELECT id, person FROM prescription WHERE {column} = {{}}", value)  # noqa: S608
    return Location(rows[0]["id"], rows[0]["person"]) if rows else None


async def number_taken(number: str) -> bool:
    """Whether a freshly drawn number is already used (astronomically unlikely, but checked)."""
    return bool(await database.fetch("SELECT 1 AS one FROM prescription WHERE number = {}", number))
