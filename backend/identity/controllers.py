"""HTTP edges of the identity slice: profiles, the card, presentation and registry import."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide

from backend.access.rules import accessible_profiles
from backend.core.auth import Actor, provide_actor, require_admin, require_pro
from backend.core.bulk import read_import_body, report
from backend.core.errors import InvalidRequest, InvalidToken, PayloadTooLarge, UnsupportedMediaType
from backend.core.names import display_name
from backend.core.settings import Settings
from backend.identity import card, registry
from backend.identity.schemas import (
    CardOut,
    ImportReport,
    MeOut,
    PresentationOut,
    ProfileOut,
    VerifiedCard,
    VerifyIn,
)


class ProfileController(Controller):
    path = "/api"
    tags = ["identity"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/me", operation_id="me")
    async def me(self, actor: Actor) -> MeOut:
        """Who is logged in and which profiles they can switch to."""
        profiles = await accessible_profiles(actor) if actor.is_citizen else []
        return MeOut(
            kind=actor.kind,
            display_name=await display_name(actor),
            profiles=msgspec.convert(profiles, list[ProfileOut]),
        )

    @get("/profiles/{profile_id:uuid}/card", operation_id="getCard")
    async def get_card(self, profile_id: UUID, actor: Actor, settings: Settings) -> CardOut:
        """The card: identity, NIR, INS and status, insurance, beneficiaries."""
        return msgspec.convert(await card.get_card(settings, actor, profile_id), CardOut)

    @post("/profiles/{profile_id:uuid}/presentations", operation_id="presentCard", status_code=201)
    async def present(self, profile_id: UUID, actor: Actor, settings: Settings) -> PresentationOut:
        """A two-minute, single-use signed token to show as a QR code."""
        return msgspec.convert(await card.present(settings, actor, profile_id), PresentationOut)


class PresentationVerifyController(Controller):
    path = "/api/pro/presentations"
    tags = ["professionals"]
    dependencies = {"actor": Provide(provide_actor)}

    @post("/verify", operation_id="verifyPresentation", status_code=200, raises=[InvalidToken])
    async def verify(self, data: VerifyIn, actor: Actor, settings: Settings) -> VerifiedCard:
        """Check a presented card token: identity traits, INS and insurance rights."""
        require_pro(actor)
        return msgspec.convert(await card.verify_presentation(settings, actor, data.token), VerifiedCard)


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
