"""HTTP edges of the access slice: delegations and the access history."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Provide

from backend.access import delegations, history
from backend.access.rules import relation_to
from backend.access.schemas import AcceptIn, AccessEventOut, DelegationIn, DelegationOut
from backend.accounts.services import display_name
from backend.core.auth import Actor, provide_actor
from backend.core.errors import NotFound
from backend.core.settings import Settings


class DelegationController(Controller):
    path = "/api"
    tags = ["access"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/profiles/{profile_id:uuid}/delegations", operation_id="listDelegations")
    async def list_delegations(self, profile_id: UUID, actor: Actor) -> list[DelegationOut]:
        return msgspec.convert(await delegations.list_for_owner(actor, profile_id), list[DelegationOut])

    @post("/profiles/{profile_id:uuid}/delegations", operation_id="createDelegation", status_code=201)
    async def create_delegation(self, profile_id: UUID, data: DelegationIn, actor: Actor,
                                settings: Settings) -> DelegationOut:
        """Invite a trusted person; the answer carries the one-time invitation code."""
        row = await delegations.create(settings, actor, profile_id, data.label, data.scopes, data.ends_at)
        return msgspec.convert(row, DelegationOut)

    @delete("/delegations/{delegation_id:uuid}", operation_id="revokeDelegation")
    async def revoke(self, delegation_id: UUID, actor: Actor) -> None:
        """Revoke a delegation; it stops working on the delegate's next request."""
        await delegations.revoke(actor, delegation_id)

    @post("/delegations/accept", operation_id="acceptDelegation", status_code=200)
    async def accept(self, data: AcceptIn, actor: Actor, settings: Settings) -> DelegationOut:
        row = await delegations.accept(settings, actor, data.code, await display_name(actor))
        return msgspec.convert(row, DelegationOut)

    @get("/profiles/{profile_id:uuid}/access-history", operation_id="accessHistory")
    async def access_history(self, profile_id: UUID, actor: Actor) -> list[AccessEventOut]:
        """Who used this profile's data (own profile or a child's)."""
        relation = await relation_to(actor, profile_id)
        if relation.kind not in ("self", "parent"):
            raise NotFound()
        return msgspec.convert(await history.history(profile_id), list[AccessEventOut])
