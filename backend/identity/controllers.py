"""HTTP edges of the identity slice: the registry import."""

from __future__ import annotations

from litestar import Controller, Request, post

from backend.core.auth import require_admin
from backend.core.bulk import read_import_body, report
from backend.core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from backend.core.settings import Settings
from backend.identity import registry
from backend.identity.schemas import ImportReport


class RegistryAdminController(Controller):
    path = "/api/admin/registry"
    tags = ["admin"]
    guards = [require_admin]

    @post("/import", operation_id="importRegistry", status_code=200,
          raises=[InvalidRequest, PayloadTooLarge, UnsupportedMediaType], request_max_body_size=20_000_000)
    async def import_registry(self, request: Request, settings: Settings) -> ImportReport:
        """Bulk-load insured persons (CSV or JSON); reports each row, issues activation codes."""
        body, content_type = await read_import_body(request, settings)
        rows = registry.parse_rows(body, content_type)
        return report(await registry.import_registry(settings, rows))
