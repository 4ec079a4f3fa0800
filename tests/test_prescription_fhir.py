"""A stored prescription serves as FHIR MedicationRequest and MedicationDispense, validated by fhir.resources.

fhir.resources 8.x ships FHIR R4B and R5 on pydantic 2 (the R4-only 6.5 line needs pydantic 1, which
the rest of the stack cannot share). R4B keeps R4's MedicationRequest and MedicationDispense as they
are, so validating against R4B checks the R4 shape the partner API serves.
"""

from __future__ import annotations

from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest

from backend import demo
from backend.prescriptions import fhir, services


def _camilles_prescriptions(run, settings) -> list[dict]:
    camille = run(demo._demo_actor, settings, "citizen", demo.CAMILLE)
    return run(services.for_profile, camille, camille.person_id)["items"]


def test_every_line_is_a_valid_medication_request(run, settings):
    prescriptions = _camilles_prescriptions(run, settings)
    lines = [(p, line) for p in prescriptions for line in p["lines"]]
    assert len(lines) == 3
    for prescription, line in lines:
        resource = MedicationRequest.model_validate(fhir.medication_request(prescription, line))
        assert resource.groupIdentifier.value == prescription["number"]
        assert resource.medicationCodeableConcept.coding[0].code == line["cis"]
        assert resource.medicationCodeableConcept.coding[0].system == fhir.CIS_SYSTEM
        assert resource.dispenseRequest.numberOfRepeatsAllowed == line["renewals"]
        assert resource.dosageInstruction[0].timing.repeat.frequency == line["dosage"]["frequency"]
        assert resource.substitution.allowedBoolean is (not line["non_substitutable"])
        assert resource.status == "active"
    levothyrox = next(line for _, line in lines if line["non_substitutable"])
    request = fhir.medication_request(prescriptions[0], levothyrox)
    assert request["substitution"]["reason"]["coding"][0]["code"] == "MTE"


def test_each_dispensing_is_a_valid_medication_dispense(run, settings):
    prescriptions = _camilles_prescriptions(run, settings)
    dispensed = [(p, line, d) for p in prescriptions for line in p["lines"] for d in line["dispenses"]]
    assert len(dispensed) == 1
    prescription, line, dispense = dispensed[0]
    resource = MedicationDispense.model_validate(fhir.medication_dispense(prescription, line, dispense))
    assert resource.status == "completed" and resource.quantity.value == 1
    assert resource.authorizingPrescription[0].reference == f"MedicationRequest/{line['id']}"
    assert resource.substitution.wasSubstituted is False
    # A substituted dispensing carries its HL7 v3 type and reason codes.
    substituted = fhir.medication_dispense(prescription, line, {
        **dispense, "substitution_type": "G", "substitution_reason": "OS"})
    checked = MedicationDispense.model_validate(substituted)
    assert checked.substitution.type.coding[0].code == "G"
    assert checked.substitution.reason[0].coding[0].code == "OS"
