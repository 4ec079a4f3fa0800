"""Request and response bodies of the access slice."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.access.rules import SCOPES
from backend.core.schemas import Body, Out, Rpps

DelegationScope = Literal[SCOPES]  # type: ignore[valid-type]


class DelegationIn(Body):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[DelegationScope], msgspec.Meta(min_length=1, max_length=len(SCOPES))]
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
    purpose: str  # as stored: a refusal code, or an emergency's context and reason
    outcome: str
    created_at: datetime
    reason: str = ""  # the purpose in the request's language (Accept-Language)


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
    rpps: Rpps


class CareRelationIn(Body):
    rpps: Rpps
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


class PatientOut(Out):
    """A patient as a professional reaches them, with the basis of the access and its end."""

    id: UUID
    first_name: str
    birth_name: str
    birth_date: date
    basis: str | None
    sex: str | None = None
    until: datetime | None = None


ProPatientBasis = Literal["gp", "granted", "temporary", "emergency"]


class ProPatientOut(Out, forbid_unknown_fields=True):
    """One of a professional's patients and the basis of the access: the registered GP (``gp``),
    the care team the patient granted (``granted``), a redeemed temporary code (``temporary``)
    or a declared emergency (``emergency``); ``until`` ends a temporary or emergency access."""

    id: UUID
    display_name: str
    first_name: str
    birth_name: str
    birth_date: date
    basis: ProPatientBasis
    until: datetime | None = None


class ProPatientPage(Out, forbid_unknown_fields=True):
    """A page of a professional's patients by name; ``next_cursor`` is the ``cursor`` of the next page."""

    items: list[ProPatientOut]
    next_cursor: UUID | None
    total: int
