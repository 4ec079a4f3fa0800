"""Request and response bodies of the identity slice (card, profiles, presentation, import)."""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from backend.core.bulk import ImportReport as ImportReport
from backend.core.bulk import ImportRow as ImportRow
from backend.core.schemas import Body, Out


class IdentityTraits(Out):
    birth_name: str
    used_name: str | None
    first_names: list[str]
    first_name: str
    birth_date: date
    sex: str
    birthplace_code: str


class InsOut(Out):
    value: str
    oid: str
    identity_status: str
    usable: bool


class AmoOut(Out):
    regime: str
    caisse: str
    caisse_code: str
    rights_start: date
    rights_end: date | None
    rights_active: bool


class AmcOut(Out):
    organisation: str
    number: str | None
    contract: str | None
    third_party_payment_start: date | None
    third_party_payment_end: date | None
    third_party_payment_active: bool


class Beneficiary(Out):
    id: UUID
    first_name: str
    birth_name: str
    birth_date: date


class CardOut(Out):
    id: UUID
    relation: str
    identity: IdentityTraits
    nir: str
    nir_masked: str
    ins: InsOut
    amo: AmoOut
    amc: AmcOut | None
    beneficiaries: list[Beneficiary]


class ProfileOut(Out):
    id: UUID
    first_name: str
    birth_name: str
    used_name: str | None
    birth_date: date
    relation: str
    until: datetime | None = None


class MeOut(Out):
    kind: str
    display_name: str
    profiles: list[ProfileOut]


class PresentationOut(Out):
    token: str
    qr: str
    expires_at: datetime


class VerifyIn(Body):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class VerifiedCard(Out):
    identity: IdentityTraits
    ins: InsOut
    amo: AmoOut
    amc: AmcOut | None
    presented_by_delegate: bool
