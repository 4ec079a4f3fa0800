"""HTTP edges of the card slice: the card, its presentation QR code, and its check by a professional."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide

from backend.card import services
from backend.core.auth import Actor, provide_actor, require_pro
from backend.core.errors import InvalidToken
from backend.core.settings import Settings
from backend.identity.schemas import CardOut, PresentationOut, VerifiedCard, VerifyIn


class CardController(Controller):
    path = "/api/profiles"
    tags = ["identity"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/{profile_id:uuid}/card", operation_id="getCard")
    async def get_card(self, profile_id: UUID, actor: Actor, settings: Settings) -> CardOut:
        """The card: identity, NIR, INS and status, insurance, beneficiaries."""
        return msgspec.convert(await services.get_card(settings, actor, profile_id), CardOut)

    @post("/{profile_id:uuid}/presentations", operation_id="presentCard", status_code=201)
    async def present(self, profile_id: UUID, actor: Actor, settings: Settings) -> PresentationOut:
        """A two-minute, single-use signed token to show as a QR code."""
        return msgspec.convert(await services.present(settings, actor, profile_id), PresentationOut)


class PresentationVerifyController(Controller):
    path = "/api/pro/presentations"
    tags = ["professionals"]
    dependencies = {"actor": Provide(provide_actor)}

    @post("/verify", operation_id="verifyPresentation", status_code=200, raises=[InvalidToken])
    async def verify(self, data: VerifyIn, actor: Actor, settings: Settings) -> VerifiedCard:
        """Check a presented card token: identity traits, INS and insurance rights."""
        require_pro(actor)
        return msgspec.convert(await services.verify_presentation(settings, actor, data.token), VerifiedCard)
