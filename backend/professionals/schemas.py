"""Response bodies of the professionals slice."""

from uuid import UUID

from backend.core.schemas import Out


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
