"""HTTP edges of the access slice: delegations and the access history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter

from backend.access import delegations, history, patients, preferences
from backend.access.rules import accessible_profiles, relation_to
from backend.access.schemas import (
    AcceptIn,
    AccessHistoryPage,
    CareRelationIn,
    CareTeamOut,
    DelegationIn,
    DelegationOut,
    EmergencyIn,
    EmergencyOut,
    NotificationOut,
    PatientOut,
    PrivacyIn,
    PrivacyOut,
    ProPatientPage,
    ProRefIn,
    RedeemIn,
    ResearchChoiceOut,
    TemporaryAccessIn,
    TemporaryAccessOut,
)
from backend.core.auth import Actor, provide_actor, provide_fresh_actor, require_pro
from backend.core.errors import (
    Conflict,
    Forbidden,
    InvalidIdentifier,
    NotFound,
    TooManyAttempts,
    Unprocessable,
    prefers_english,
)
from backend.core.names import display_name
from backend.core.settings import Settings
from backend.identity.schemas import MeOut, ProfileOut

ActorKind = Literal["pro", "emergency", "delegate", "parent", "operator", "self"]


class MeController(Controller):
    path = "/api/me"
    tags = ["identity"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/", operation_id="me")
    async def me(self, actor: Actor) -> MeOut:
        """Who is logged in and which profiles they can switch to."""
        profiles = await accessible_profiles(actor) if actor.is_citizen else []
        return MeOut(
            kind=actor.kind,
            display_name=await display_name(actor),
            profiles=msgspec.convert(profiles, list[ProfileOut]),
        )


class DelegationController(Controller):
    path = "/api"
    tags = ["access"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/profiles/{profile_id:uuid}/delegations", operation_id="listDelegations")
    async def list_delegations(self, profile_id: UUID, actor: Actor) -> list[DelegationOut]:
        return msgspec.convert(await delegations.list_for_owner(actor, profile_id), list[DelegationOut])

    @post("/profiles/{profile_id:uuid}/delegations", operation_id="createDelegation", status_code=201,
          raises=[Unprocessable],
          dependencies={"actor": Provide(provide_fresh_actor)})
    async def create_delegation(self, profile_id: UUID, data: DelegationIn, actor: Actor,
                                settings: Settings) -> DelegationOut:
        """Invite a trusted person; the answer carries the one-time invitation code."""
        row = await delegations.create(settings, actor, profile_id, data.label, data.scopes, data.ends_at)
        return msgspec.convert(row, DelegationOut)

    @delete("/delegations/{delegation_id:uuid}", operation_id="revokeDelegation",
            dependencies={"actor": Provide(provide_fresh_actor)})
    async def revoke(self, delegation_id: UUID, actor: Actor) -> None:
        """Revoke a delegation; it stops working on the delegate's next request."""
        await delegations.revoke(actor, delegation_id)

    @post("/delegations/accept", operation_id="acceptDelegation", status_code=200,
          raises=[NotFound, Unprocessable, Conflict])
    async def accept(self, data: AcceptIn, actor: Actor, settings: Settings) -> DelegationOut:
        row = await delegations.accept(settings, actor, data.code, await display_name(actor))
        return msgspec.convert(row, DelegationOut)

    @get("/profiles/{profile_id:uuid}/access-history", operation_id="accessHistory")
    async def access_history(
        self, request: Request, profile_id: UUID, actor: Actor, actor_kind: ActorKind | None = None,
        outcome: Literal["allowed", "refused"] | None = None,
        action: Annotated[str, Parameter(max_length=40, pattern=r"^[a-z_.]*$")] = "",
        since: datetime | None = None,
        before: Annotated[int, Parameter(ge=1, le=history.NEWEST,
                                         description="next_cursor of the previous page")] = history.NEWEST,
        limit: Annotated[int, Parameter(ge=1, le=history.MAX_LIMIT)] = 50,
    ) -> AccessHistoryPage:
        """Who used this profile's data (own profile or a child's), newest first, filterable, paged.

        A parent never sees the events about the minor's secret.
        """
        relation = await relation_to(actor, profile_id)
        if relation.kind not in ("self", "parent"):
            raise NotFound()
        page = await history.page(profile_id, viewer=relation.kind, limit=limit, before=before,
                                  actor_kind=actor_kind, outcome=outcome, action=action or None, since=since)
        english = prefers_english(request)
        page["items"] = [history.localise(item, english) for item in page["items"]]
        return msgspec.convert(page, AccessHistoryPage)


class PrivacyController(Controller):
    """Accès & confidentialité: care team, blocks, temporary codes, emergency, research."""

    path = "/api"
    tags = ["access"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/profiles/{profile_id:uuid}/privacy", operation_id="getPrivacy")
    async def get_privacy(self, profile_id: UUID, actor: Actor) -> PrivacyOut:
        return msgspec.convert(await preferences.privacy_settings(actor, profile_id), PrivacyOut)

    @post("/profiles/{profile_id:uuid}/privacy", operation_id="setPrivacy", status_code=200,
          raises=[Unprocessable])
    async def set_privacy(self, profile_id: UUID, data: PrivacyIn, actor: Actor) -> PrivacyOut:
        """Oppose (or not) emergency access; record a research-use consent or objection."""
        if data.emergency_access_opposed is not None:
            await preferences.set_emergency_opposition(actor, profile_id, data.emergency_access_opposed)
        if data.research_choice is not None:
            await preferences.record_research_choice(actor, profile_id, data.research_choice)
        return msgspec.convert(await preferences.privacy_settings(actor, profile_id), PrivacyOut)

    @get("/profiles/{profile_id:uuid}/research-choices", operation_id="researchChoices")
    async def research(self, profile_id: UUID, actor: Actor) -> list[ResearchChoiceOut]:
        """Every consent or objection recorded, newest first."""
        return msgspec.convert(await preferences.research_history(actor, profile_id), list[ResearchChoiceOut])

    @get("/profiles/{profile_id:uuid}/care-team", operation_id="careTeam")
    async def care_team(self, profile_id: UUID, actor: Actor) -> CareTeamOut:
        return msgspec.convert(await preferences.care_team(actor, profile_id), CareTeamOut)

    @post("/profiles/{profile_id:uuid}/care-team", operation_id="addCareRelation", status_code=204,
          raises=[InvalidIdentifier, Unprocessable, Conflict])
    async def add_care(self, profile_id: UUID, data: CareRelationIn, actor: Actor) -> None:
        """Declare the registered GP or grant a professional access to the record."""
        await preferences.set_care_relation(actor, profile_id, data.rpps, data.role)

    @delete("/profiles/{profile_id:uuid}/care-team/{professional_id:uuid}", operation_id="removeCareRelation")
    async def remove_care(self, profile_id: UUID, professional_id: UUID, actor: Actor) -> None:
        await preferences.revoke_care_relation(actor, profile_id, professional_id)

    @post("/profiles/{profile_id:uuid}/blocks", operation_id="blockProfessional", status_code=204,
          raises=[InvalidIdentifier, Unprocessable])
    async def block(self, profile_id: UUID, data: ProRefIn, actor: Actor) -> None:
        """Block a professional: no access at all, even with a code."""
        await preferences.block(actor, profile_id, data.rpps)

    @delete("/profiles/{profile_id:uuid}/blocks/{professional_id:uuid}", operation_id="unblockProfessional")
    async def unblock(self, profile_id: UUID, professional_id: UUID, actor: Actor) -> None:
        await preferences.unblock(actor, profile_id, professional_id)

    @get("/profiles/{profile_id:uuid}/temporary-access", operation_id="listTemporaryAccess")
    async def list_temporary(self, profile_id: UUID, actor: Actor) -> list[TemporaryAccessOut]:
        return msgspec.convert(await preferences.list_temporary_access(actor, profile_id),
                               list[TemporaryAccessOut])

    @post("/profiles/{profile_id:uuid}/temporary-access", operation_id="createTemporaryAccess",
          raises=[Unprocessable],
          status_code=201)
    async def create_temporary(self, profile_id: UUID, data: TemporaryAccessIn, actor: Actor,
                               settings: Settings) -> TemporaryAccessOut:
        """A one-time code (and QR) to share with a professional, valid for the chosen duration."""
        row = await preferences.create_temporary_access(settings, actor, profile_id, data.minutes, data.label)
        return msgspec.convert(row, TemporaryAccessOut)

    @delete("/temporary-access/{access_id:uuid}", operation_id="revokeTemporaryAccess")
    async def revoke_temporary(self, access_id: UUID, actor: Actor) -> None:
        await preferences.revoke_temporary_access(actor, access_id)

    @get("/profiles/{profile_id:uuid}/notifications", operation_id="notifications")
    async def notifications(self, profile_id: UUID, actor: Actor) -> list[NotificationOut]:
        return msgspec.convert(await preferences.notifications(actor, profile_id), list[NotificationOut])


class ProAccessController(Controller):
    path = "/api/pro"
    tags = ["professionals", "access"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/patients", operation_id="proListPatients", raises=[Forbidden, Unprocessable])
    async def list_patients(
        self, actor: Actor,
        cursor: Annotated[UUID | None, Parameter(description="next_cursor of the previous page")] = None,
        limit: Annotated[int, Parameter(ge=1, le=patients.MAX_LIMIT)] = 50,
    ) -> ProPatientPage:
        """My patients: the people I am the registered GP of, in the care team of, or hold a running
        temporary code or emergency access for, by name. Blocked, closed or opposed records never appear."""
        require_pro(actor)
        return msgspec.convert(await patients.page(actor.professional_id, limit=limit, cursor=cursor),
                               ProPatientPage)

    @post("/temporary-access/redeem", operation_id="proRedeemTemporaryAccess", status_code=200,
          raises=[Unprocessable, TooManyAttempts])
    async def redeem(self, data: RedeemIn, actor: Actor, settings: Settings) -> PatientOut:
        """Enter the code a patient shared: access to their record until the code's end."""
        require_pro(actor)
        row = await preferences.redeem_temporary_access(settings, actor, data.code, await display_name(actor))
        return msgspec.convert(row, PatientOut)

    @post("/patients/{profile_id:uuid}/emergency", operation_id="proDeclareEmergency", status_code=201,
          raises=[Unprocessable, TooManyAttempts])
    async def emergency(self, profile_id: UUID, data: EmergencyIn, actor: Actor,
                        settings: Settings) -> EmergencyOut:
        """Break-glass access with a written reason (physicians; refused if the patient opposed)."""
        require_pro(actor)
        row = await preferences.declare_emergency(settings, actor, profile_id, data.context, data.reason,
                                                  await display_name(actor))
        return msgspec.convert(row, EmergencyOut)
