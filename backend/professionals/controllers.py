"""HTTP edges of the professionals slice."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide

from backend.core.auth import Actor, provide_actor, require_admin, require_pro
from backend.core.bulk import ImportReport, parse_rows, read_import_body, report
from backend.core.errors import Forbidden, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from backend.core.settings import Settings
from backend.professionals import directory
from backend.professionals.schemas import ProOut


class ProController(Controller):
    path = "/api/pro"
    tags = ["professionals"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/me", operation_id="proMe", raises=[Forbidden])
    async def me(self, actor: Actor) -> ProOut:
        """The logged-in professional: RPPS, profession, structure."""
        require_pro(actor)
        return msgspec.convert(await directory.pro_profile(actor.professional_id), ProOut)


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
