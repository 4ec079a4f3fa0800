"""HTTP edges of the professionals slice."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter

from backend.core.auth import Actor, provide_actor, require_admin, require_pro
from backend.core.bulk import ImportReport, parse_rows, read_import_body, report
from backend.core.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from backend.core.settings import Settings
from backend.professionals import directory
from backend.professionals.schemas import ProOut, StructureList, StructureOut

PHARMACY_LIMIT = 20
PharmacyQuery = Annotated[str, Parameter(
    min_length=2, max_length=100,
    description="Words of the pharmacy's name, commune or postcode (accents, case and hyphens ignored).")]


class ProController(Controller):
    path = "/api/pro"
    tags = ["professionals"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/me", operation_id="proMe", raises=[Forbidden])
    async def me(self, actor: Actor) -> ProOut:
        """The logged-in professional: RPPS, profession, structure."""
        require_pro(actor)
        return msgspec.convert(await directory.pro_profile(actor.professional_id), ProOut)


class StructureController(Controller):
    """The structures of the directory, for any logged-in citizen or professional."""

    path = "/api"
    tags = ["structures"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/pharmacies", operation_id="searchPharmacies", raises=[InvalidRequest, Unauthenticated])
    async def pharmacies(self, actor: Actor, q: PharmacyQuery) -> StructureList:
        """Pharmacies whose name, commune or postcode match ``q``, by name (20 at most)."""
        found = await directory.search_structures(q, kind="pharmacy", limit=PHARMACY_LIMIT)
        return StructureList(items=[msgspec.convert(s, StructureOut) for s in found])

    @get("/structures/{structure_id:uuid}", operation_id="getStructure", raises=[NotFound, Unauthenticated])
    async def structure(self, actor: Actor, structure_id: UUID) -> StructureOut:
        """One structure of the directory: kind, name, address, opening hours."""
        found = await directory.get_structure(structure_id)
        if found is None:
            raise NotFound("Structure introuvable.", detail_en="Structure not found.")
        return msgspec.convert(found, StructureOut)


class DirectoryAdminController(Controller):
    path = "/api/admin/directory"
    tags = ["admin"]
    guards = [require_admin]

    @post("/import", operation_id="importDirectory", status_code=200,
          raises=[InvalidRequest, PayloadTooLarge, UnsupportedMediaType], request_max_body_size=20_000_000)
    async def import_directory(self, request: Request, settings: Settings,
                               open_pro_account: Any) -> ImportReport:
        """Bulk-load professionals (RPPS, profession, specialty, structure with FINESS)."""
        body, content_type = await read_import_body(request, settings)
        rows = parse_rows(body, content_type)
        return report(await directory.import_directory(settings, rows, open_pro_account))
