"""HTTP edges of portability: the export ZIP and closing the space."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide

from backend.core.auth import Actor, provide_actor, provide_fresh_actor
from backend.core.errors import Unprocessable, prefers_english
from backend.core.schemas import Body, Out
from backend.core.settings import Settings
from backend.portability import services


class ClosureIn(Body):
    confirmation: Annotated[str, msgspec.Meta(max_length=20)]


class ClosureOut(Out):
    closed_at: datetime
    retention_years: int
    retention: str
    retention_en: str


class RetentionOut(Out):
    retention_years: int
    retention: str
    retention_en: str
    confirmation: str


class PortabilityController(Controller):
    path = "/api/profiles/{profile_id:uuid}"
    tags = ["portability"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/export", operation_id="exportAll", media_type="application/zip")
    async def export(self, request: Request, profile_id: UUID, actor: Actor,
                     settings: Settings) -> Response[bytes]:
        """Download all my data: documents, metadata, profile, delegations, access history."""
        data = await services.export_zip(settings, actor, profile_id, english=prefers_english(request))
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": 'attachment; filename="carnet-export.zip"'})

    @get("/closure", operation_id="closureRules")
    async def closure_rules(self, profile_id: UUID, actor: Actor) -> RetentionOut:
        """What closing the space means, before confirming."""
        await services.owner(actor, profile_id)
        return RetentionOut(retention_years=services.RETENTION_YEARS, retention=services.RETENTION["fr"],
                            retention_en=services.RETENTION["en"], confirmation=services.CONFIRMATION)

    @post("/close", operation_id="closeSpace", status_code=200, raises=[Unprocessable],
          dependencies={"actor": Provide(provide_fresh_actor)})
    async def close(self, profile_id: UUID, data: ClosureIn, actor: Actor) -> ClosureOut:
        """Close my space (confirmation required); the session ends with it."""
        return msgspec.convert(await services.close_space(actor, profile_id, data.confirmation), ClosureOut)
