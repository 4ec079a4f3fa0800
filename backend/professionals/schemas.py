"""Response bodies of the professionals slice."""

from typing import Literal
from uuid import UUID

from backend.core.schemas import Out


class StructureOut(Out):
    """A structure (FINESS): a pharmacy, a practice, a hospital or an imaging centre."""

    id: UUID
    finess: str
    kind: Literal["pharmacy", "practice", "hospital", "imaging"]
    name: str
    address: str  # street line; empty when unknown
    postcode: str  # empty when unknown
    commune: str  # empty when unknown
    opening_hours: str | None


class StructureList(Out):
    items: list[StructureOut]


class ProOut(Out):
    id: UUID
    rpps: str
    national_id: str
    last_name: str
    first_name: str
    profession_code: str
    profession: str
    specialty: str | None
    structure_name: str
    finess: str
    structure: StructureOut | None  # where the professional works (the structure of their FINESS)
