"""Request and response bodies of the prescriptions slice (close to FHIR MedicationRequest/Dispense)."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.core.schemas import Body, Out

Cis = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$", description="CIS code of the BDPM: 8 digits.",
                                  examples=["60234100"])]
LineStatus = Literal["to_dispense", "partly_dispensed", "dispensed", "expired", "cancelled"]


class DosageIn(Body):
    """Structured dosage (FHIR Dosage): dose, frequency per period, route, duration, instructions."""

    dose_value: Annotated[float, msgspec.Meta(gt=0, le=1000)]
    dose_unit: Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="e.g. comprimé, mL")]
    frequency: Annotated[int, msgspec.Meta(ge=1, le=24, description="Times per period.")]
    period: Annotated[int, msgspec.Meta(ge=1, le=31)] = 1
    period_unit: Literal["h", "d", "wk", "mo"] = "d"
    route: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    duration_days: Annotated[int, msgspec.Meta(ge=1, le=366)] | None = None
    text: Annotated[str, msgspec.Meta(max_length=300, description="Free-text instructions.")] | None = None


class LineIn(Body, kw_only=True):
    """One medication: a BDPM code, or an international nonproprietary name written in full."""

    cis: Cis | None = None
    label: Annotated[str, msgspec.Meta(
        min_length=2, max_length=200, description="INN in free text when no CIS code is given.",
    )] | None = None
    dosage: DosageIn
    quantity: Annotated[int, msgspec.Meta(ge=1, le=12, description="Boxes (or units) per dispensing.")]
    quantity_unit: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "boîte"
    renewals: Annotated[int, msgspec.Meta(ge=0, le=11)] = 0
    non_substitutable: bool = False
    non_substitution_reason: Literal["MTE", "EFG", "CIF"] | None = None


class PrescriptionIn(Body, kw_only=True):
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=20)]
    dispensing_visible: bool
    patient_weight_kg: Annotated[float, msgspec.Meta(ge=0.3, le=400, description="Kilograms.")] | None = None


class LookupIn(Body):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=40,
                                        description="The 18-character number, spaces and hyphens allowed.")]


class SendIn(Body):
    structure_id: UUID
    note: Annotated[str, msgspec.Meta(max_length=500, description="e.g. « je passe vers 18h »")] | None = None


class MyPharmacyIn(Body):
    structure_id: UUID | None = msgspec.field(default=None)


class PharmacyOut(Out):
    id: UUID
    finess: str
    name: str
    address: str
    postcode: str
    commune: str
    opening_hours: str | None


class MyPharmacyOut(Out):
    pharmacy: PharmacyOut | None


class DispenseLineIn(Body, kw_only=True):
    line_id: UUID
    quantity: Annotated[int, msgspec.Meta(ge=1, le=144)]
    expected_dispensed: Annotated[int, msgspec.Meta(
        ge=0, le=1000, description="What was already dispensed when the pharmacist read the line: "
                                   "if another pharmacy dispensed since, the request is refused with 409.")]
    substitution_type: Annotated[str, msgspec.Meta(max_length=4)] | None = None
    substitution_reason: Annotated[str, msgspec.Meta(max_length=4)] | None = None
    cis: Cis | None = None


class DispenseIn(Body):
    lines: Annotated[list[DispenseLineIn], msgspec.Meta(min_length=1, max_length=20)]


class DispenseOut(Out):
    id: UUID
    quantity: int
    cis: str | None
    label: str
    pharmacy: str
    substitution_type: str | None
    substitution_reason: str | None
    handed_over_at: datetime


class LineOut(Out):
    id: UUID
    position: int
    cis: str | None
    label: str
    dosage: dict
    dosage_text: str
    quantity: int
    quantity_unit: str
    renewals: int
    non_substitutable: bool
    non_substitution_reason: str | None
    limit: int
    dispensed: int | None  # None when the patient keeps the dispensing from the prescriber
    status: LineStatus | None
    dispenses: list[DispenseOut]


class PrescriberOut(Out):
    id: UUID
    name: str
    rpps: str
    profession: str
    structure: str


class PatientOut(Out):
    first_name: str
    birth_name: str
    birth_date: date


class PrescriptionOut(Out):
    id: UUID
    number: str
    status: Literal["active", "cancelled"]
    summary: LineStatus | None
    person_id: UUID
    authored_on: datetime
    first_dispense_by: date
    treatment_end: date
    dispensing_visible: bool
    patient_weight_kg: float | None
    document_id: UUID | None
    prescriber: PrescriberOut
    patient: PatientOut | None
    lines: list[LineOut]
    qr: str | None = None  # a data: URL of the QR code that encodes the number (the citizen's view)


class PrescriptionPage(Out):
    items: list[PrescriptionOut]
    total: int
    page: int
    page_size: int


class MedicationOut(Out):
    cis: str
    label: str
    inn: str | None = None


class CodeOut(Out, omit_defaults=True):
    """A coded value with its French and English words (plural and period phrases where they apply)."""

    code: str
    fr: str
    en: str
    fr_plural: str | None = None
    en_plural: str | None = None
    fr_per: str | None = None  # period units: "par jour"
    en_per: str | None = None
    fr_every: str | None = None  # period units: "tous les {n} jours"
    en_every: str | None = None


class PrescriptionCodesOut(Out):
    """The code lists a prescription form and a dispensing form offer, from ``rules.json``."""

    substitution_types: list[CodeOut]
    substitution_reasons: list[CodeOut]
    non_substitution_reasons: list[CodeOut]
    routes: list[CodeOut]
    dose_units: list[CodeOut]
    period_units: list[CodeOut]
    prescriber_professions: list[str]  # profession codes that may write a medicine e-prescription
