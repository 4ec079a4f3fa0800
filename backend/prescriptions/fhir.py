"""A stored prescription as FHIR R4 ``MedicationRequest`` and ``MedicationDispense`` resources.

The tables follow these resources closely (one line is one MedicationRequest; the
prescription's number is their ``groupIdentifier``; one dispensing is one
MedicationDispense), so the partner API serves them without translation.
Codes: CIS (ANSM, ``urn:oid:1.2.250.1.213.2.3.1``), RPPS (``urn:oid:1.2.250.1.71.4.2.1``),
UCUM units, HL7 v3 substitution codes and reasons.
"""

from __future__ import annotations

from backend.prescriptions import reference

CIS_SYSTEM = "urn:oid:1.2.250.1.213.2.3.1"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
NUMBER_SYSTEM = "urn:carnet:e-prescription-number"
UCUM = "http://unitsofmeasure.org"
SUBSTITUTION_TYPES = "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
NON_SUBSTITUTION = "urn:carnet:non-substitution-reason"  # MTE | EFG | CIF (arrêté of 12 November 2019)
_STATUS = {"to_dispense": "active", "partly_dispensed": "active", "dispensed": "completed",
           "expired": "stopped", "cancelled": "cancelled"}


def _medication(cis: str | None, label: str) -> dict:
    concept: dict = {"text": label}
    if cis:
        concept["coding"] = [{"system": CIS_SYSTEM, "code": cis, "display": label}]
    return concept


def _dosage(line: dict) -> dict:
    d = line["dosage"]
    dosage: dict = {
        "sequence": 1,
        "text": line["dosage_text"],
        "timing": {"repeat": {"frequency": d["frequency"], "period": d.get("period", 1),
                              "periodUnit": d.get("period_unit", "d")}},
        "doseAndRate": [{"doseQuantity": {"value": d["dose_value"], "unit": d["dose_unit"]}}],
    }
    if d.get("duration_days"):
        dosage["timing"]["repeat"]["boundsDuration"] = {"value": d["duration_days"], "unit": "d",
                                                        "system": UCUM, "code": "d"}
    if d.get("text"):
        dosage["patientInstruction"] = d["text"]
    if d.get("route"):
        dosage["route"] = {"text": d["route"]}
    return dosage


def medication_request(prescription: dict, line: dict) -> dict:
    """One line of a prescription (as :func:`services._public` shows it) as a MedicationRequest."""
    status = _STATUS[line["status"]] if line.get("status") else (
        "cancelled" if prescription["status"] == "cancelled" else "active")
    substitution: dict = {"allowedBoolean": not line["non_substitutable"]}
    if line["non_substitutable"]:
        reasons = reference.non_substitution_reasons()
        code = line["non_substitution_reason"]
        substitution["reason"] = {"coding": [{"system": NON_SUBSTITUTION, "code": code,
                                              "display": reasons[code]["fr"]}]}
    return {
        "resourceType": "MedicationRequest",
        "id": str(line["id"]),
        "groupIdentifier": {"system": NUMBER_SYSTEM, "value": prescription["number"]},
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": _medication(line["cis"], line["label"]),
        "subject": {"reference": f"Patient/{prescription['person_id']}"},
        "authoredOn": prescription["authored_on"].isoformat(),
        "requester": {"identifier": {"system": RPPS_SYSTEM, "value": prescription["prescriber"]["rpps"]},
                      "display": prescription["prescriber"]["name"]},
        "dosageInstruction": [_dosage(line)],
        "dispenseRequest": {
            "validityPeriod": {"start": prescription["authored_on"].date().isoformat(),
                               "end": prescription["treatment_end"].isoformat()},
            "numberOfRepeatsAllowed": line["renewals"],
            "quantity": {"value": line["quantity"], "unit": line["quantity_unit"]},
        },
        "substitution": substitution,
    }


def medication_dispense(prescription: dict, line: dict, dispense: dict) -> dict:
    """One dispensing of a line as a MedicationDispense (``completed``)."""
    resource: dict = {
        "resourceType": "MedicationDispense",
        "id": str(dispense["id"]),
        "status": "completed",
        "medicationCodeableConcept": _medication(dispense["cis"], dispense["label"]),
        "subject": {"reference": f"Patient/{prescription['person_id']}"},
        "authorizingPrescription": [{"reference": f"MedicationRequest/{line['id']}"}],
        "quantity": {"value": dispense["quantity"], "unit": line["quantity_unit"]},
        "whenHandedOver": dispense["handed_over_at"].isoformat(),
        "performer": [{"actor": {"display": dispense["pharmacy"]}}],
    }
    if dispense["substitution_type"]:
        resource["substitution"] = {
            "wasSubstituted": True,
            "type": {"coding": [{"system": SUBSTITUTION_TYPES, "code": dispense["substitution_type"]}]},
            "reason": [{"coding": [{"system": ACT_REASON, "code": dispense["substitution_reason"]}]}],
        }
    else:
        resource["substitution"] = {"wasSubstituted": False}
    return resource
