"""Request and response bodies of the access slice."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.core.schemas import Body, Out


class DelegationIn(Body):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=10)]
    ends_at: datetime


class DelegationOut(Out):
    id: UUID
    label: str
    scopes: list[str]
    ends_at: datetime
    created_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    state: str
    invitation_code: str | None = None
    owner: UUID | None = None


class AcceptIn(Body):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]


class AccessEventOut(Out):
    id: int
    resource: str
    actor_kind: str
    actor_label: str
    on_behalf_of: str | None
    action: str
    purpose: str
    outcome: str
    created_at: datetime


class OutcomeCounts(Out):
    allowed: int
    refused: int


class AccessHistoryPage(Out):
    """A page of the access history, newest first; ``next_cursor`` is the ``before`` of the next page."""

    items: list[AccessEventOut]
    next_cursor: int | None
    total: int
    counts: OutcomeCounts


class ProRefIn(Body):
    rpps: Annotated[str, msgspec.Meta(max_length=20)]


class CareRelationIn(Body):
    rpps: Annotated[str, msgspec.Meta(max_length=20)]
    role: Literal["gp", "granted"]


class ProfessionalRef(Out):
    professional_id: UUID
    rpps: str
    name: str
    structure: str | None
    since: datetime
    role: str | None = None


class CareTeamOut(Out):
    care_team: list[ProfessionalRef]
    blocked: list[ProfessionalRef]


class PrivacyIn(Body):
    emergency_access_opposed: bool | None = None
    research_choice: Literal["consent", "objection"] | None = None


class PrivacyOut(Out):
    emergency_access_opposed: bool
    research_choice: str | None


class ResearchChoiceOut(Out):
    choice: str
    created_at: datetime


class TemporaryAccessIn(Body):
    minutes: Annotated[int, msgspec.Meta(ge=5, le=10080)]
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class TemporaryAccessOut(Out):
    id: UUID
    label: str
    created_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    state: str
    code: str | None = None
    qr: str | None = None


class RedeemIn(Body):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]


EmergencyContext = Literal["samu_regulation", "unconscious_patient", "vital_emergency"]


class EmergencyIn(Body):
    """Break-glass: a coded context and a written account of the situation."""

    context: EmergencyContext
    # 20 characters and 3 distinct words at least, checked by the service so that a
    # thin reason gets a precise message and is recorded in the patient's history.
    reason: Annotated[str, msgspec.Meta(max_length=1000)]


class EmergencyOut(Out):
    person_id: UUID
    until: datetime


class NotificationOut(Out):
    id: UUID
    kind: str
    text_fr: str
    text_en: str
    created_at: datetime
    read_at: datetime | None
