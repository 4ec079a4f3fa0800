"""E-prescription tables, kept close to FHIR R4.

- ``prescription``: the prescription as the patient carries it (its number, prescriber, patient,
  validity, consent): the FHIR ``MedicationRequest.groupIdentifier`` shared by its lines.
- ``prescription_line``: one ``MedicationRequest`` (medication, dosage, quantity, renewals,
  substitution) with the quantity dispensed so far.
- ``prescription_dispense``: one ``MedicationDispense`` (what a pharmacy handed over for a line).
- ``prescription_opening``: which pharmacy holds the prescription's key, because a pharmacist typed or
  scanned its number or the patient sent it in a message; it is the pharmacy's basis to dispense.
"""

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson
from backend.professionals.tables import Professional


class Prescription(Table, tablename="prescription"):
    id = UUID(primary_key=True)
    number = Varchar(length=18, unique=True)  # opaque, random; what the QR code encodes
    person = ForeignKey(references=InsuredPerson, index=True)
    prescriber = ForeignKey(references=Professional, index=True)
    status = Varchar(length=12, default="active")  # active | cancelled (FHIR MedicationRequest.status)
    authored_on = Timestamptz()
    first_dispense_by = Date()  # the first dispensing of a line must happen by this date
    treatment_end = Date()  # nothing is dispensed after this date, renewals included
    dispensing_visible = Boolean()  # the patient lets the prescriber see what was dispensed
    patient_weight_kg = Real(null=True, default=None)
    document = UUID(null=True, default=None)  # the printable copy in the record (LOINC 57833-6)
    cancelled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class PrescriptionLine(Table, tablename="prescription_line"):
    id = UUID(primary_key=True)
    prescription = ForeignKey(references=Prescription, index=True)
    position = Integer()
    cis = Varchar(length=8, null=True, default=None)  # BDPM code; None for an INN written in full
    label = Varchar(length=200)
    dosage = Text()  # structured dosage (JSON, close to FHIR Dosage)
    dosage_text = Varchar(length=600)
    quantity = Integer()  # per dispensing (boxes, bottles...)
    quantity_unit = Varchar(length=40)
    renewals = Integer(default=0)
    non_substitutable = Boolean(default=False)
    non_substitution_reason = Varchar(length=3, null=True, default=None)  # MTE | EFG | CIF
    dispensed = Integer(default=0)  # units handed over so far, across every pharmacy


class PrescriptionDispense(Table, tablename="prescription_dispense"):
    id = UUID(primary_key=True)
    line = ForeignKey(references=PrescriptionLine, index=True)
    prescription = ForeignKey(references=Prescription, index=True)
    pharmacist = ForeignKey(references=Professional)
    structure = UUID(null=True, default=None)
    structure_name = Varchar(length=200)
    quantity = Integer()
    cis = Varchar(length=8, null=True, default=None)  # the product handed over
    label = Varchar(length=200)
    substitution_type = Varchar(length=4, null=True, default=None)  # v3 ActSubstanceAdminSubstitutionCode
    substitution_reason = Varchar(length=4, null=True, default=None)  # v3 ActReason
    handed_over_at = Timestamptz(default=TimestamptzNow())


class PrescriptionOpening(Table, tablename="prescription_opening"):
    id = UUID(primary_key=True)
    prescription = ForeignKey(references=Prescription, index=True)
    structure = UUID(null=True, default=None, index=True)
    professional = UUID(null=True, default=None)
    via = Varchar(length=10)  # number | message
    created_at = Timestamptz(default=TimestamptzNow())


class MyPharmacy(Table, tablename="my_pharmacy"):
    """The pharmacy a profile marked as "ma pharmacie": offered first when sending a prescription."""

    person = ForeignKey(references=InsuredPerson, primary_key=True)
    structure = UUID()
    updated_at = Timestamptz(default=TimestamptzNow())
