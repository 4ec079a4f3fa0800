"""HTTP edges of the prescriptions slice: the prescriber, the citizen side and the pharmacist."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter

from backend.core.auth import Actor, provide_actor, require_pro
from backend.core.errors import Conflict, Forbidden, NotFound, TooManyAttempts, Unprocessable
from backend.core.settings import Settings
from backend.prescriptions import reference, services
from backend.prescriptions.schemas import (
    CodeOut,
    DispenseIn,
    LookupIn,
    MedicationOut,
    MyPharmacyIn,
    MyPharmacyOut,
    PrescriptionCodesOut,
    PrescriptionIn,
    PrescriptionOut,
    PrescriptionPage,
    SendIn,
)

Page = Annotated[int, Parameter(ge=1, le=1000, description="Page number, from 1.")]
PageSize = Annotated[int, Parameter(ge=1, le=services.MAX_PAGE_SIZE, description="Prescriptions per page.")]


def _out(data: dict) -> PrescriptionOut:
    return msgspec.convert(data, PrescriptionOut)


_CODE_FIELDS = ("fr", "en", "fr_plural", "en_plural", "fr_per", "en_per", "fr_every", "en_every")


def _codes(entries) -> list[CodeOut]:
    return [CodeOut(code=code, **{k: entry[k] for k in _CODE_FIELDS if k in entry})
            for code, entry in entries.items()]


def _prescription_codes() -> PrescriptionCodesOut:
    return PrescriptionCodesOut(
        substitution_types=_codes(reference.substitution_types()),
        substitution_reasons=_codes(reference.substitution_reasons()),
        non_substitution_reasons=_codes(reference.non_substitution_reasons()),
        routes=_codes(reference.routes()),
        dose_units=_codes(reference.dose_units()),
        period_units=_codes(reference.period_units()),
        prescriber_professions=[code for code in reference.RULES["prescribers"]["professions"]
                                if reference.may_prescribe(code)],
    )


class MedicationController(Controller):
    path = "/api/medications"
    tags = ["prescriptions"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/", operation_id="searchMedications")
    async def search(self, actor: Actor, q: Annotated[str, Parameter(min_length=2, max_length=60)]
                     ) -> list[MedicationOut]:
        """Medications of the reference list (BDPM) whose label or INN matches, accents and case ignored."""
        return [msgspec.convert(m, MedicationOut) for m in reference.search_medications(q)]


class PrescriptionController(Controller):
    """The citizen side: a profile's prescriptions, the QR code, sending one to a pharmacy."""

    path = "/api"
    tags = ["prescriptions"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/prescription-codes", operation_id="getPrescriptionCodes")
    async def codes(self, actor: Actor) -> PrescriptionCodesOut:
        """The code lists of prescribing and dispensing, with French and English words: substitution
        types and reasons, non-substitution reasons, routes, dose units, period units, and the
        professions that may prescribe."""
        return _prescription_codes()

    @get("/profiles/{profile_id:uuid}/prescriptions", operation_id="listPrescriptions")
    async def list(self, profile_id: UUID, actor: Actor, page: Page = 1, page_size: PageSize = 20
                   ) -> PrescriptionPage:
        """The profile's prescriptions, newest first, with a status per line."""
        data = await services.for_profile(actor, profile_id, page=page, page_size=page_size)
        return msgspec.convert(data, PrescriptionPage)

    @get("/profiles/{profile_id:uuid}/my-pharmacy", operation_id="getMyPharmacy")
    async def my_pharmacy(self, profile_id: UUID, actor: Actor) -> MyPharmacyOut:
        """The pharmacy this profile marked as "ma pharmacie" (``null`` when none)."""
        return msgspec.convert({"pharmacy": await services.my_pharmacy(actor, profile_id)}, MyPharmacyOut)

    @post("/profiles/{profile_id:uuid}/my-pharmacy", operation_id="setMyPharmacy", status_code=200,
          raises=[Unprocessable])
    async def set_my_pharmacy(self, profile_id: UUID, data: MyPharmacyIn, actor: Actor) -> MyPharmacyOut:
        """Mark a pharmacy as "ma pharmacie" (``structure_id: null`` forgets it)."""
        chosen = await services.set_my_pharmacy(actor, profile_id, data.structure_id)
        return msgspec.convert({"pharmacy": chosen}, MyPharmacyOut)

    @get("/prescriptions/{prescription_id:uuid}", operation_id="getPrescription")
    async def get(self, prescription_id: UUID, actor: Actor) -> PrescriptionOut:
        """One prescription, with the QR code that encodes its number (to show at the counter)."""
        return _out(await services.for_citizen(actor, prescription_id))

    @post("/prescriptions/{prescription_id:uuid}/send", operation_id="sendPrescription", status_code=200,
          raises=[Unprocessable, Conflict, TooManyAttempts])
    async def send(self, prescription_id: UUID, data: SendIn, actor: Actor, settings: Settings) -> dict:
        """Send the prescription to a pharmacy in a message, with an optional note."""
        return await services.send_to_pharmacy(settings, actor, prescription_id, data.structure_id, data.note)


class ProPrescriptionController(Controller):
    """The professional side: write and cancel (prescriber), open by number and dispense (pharmacist)."""

    path = "/api/pro"
    tags = ["professionals", "prescriptions"]
    dependencies = {"actor": Provide(provide_actor)}

    @post("/patients/{profile_id:uuid}/prescriptions", operation_id="proWritePrescription", status_code=201,
          raises=[Forbidden, Unprocessable])
    async def write(self, profile_id: UUID, data: PrescriptionIn, actor: Actor, settings: Settings
                    ) -> PrescriptionOut:
        """Write a prescription for a patient you have a basis of access to; its PDF goes into the record."""
        require_pro(actor)
        return _out(await services.write(settings, actor, profile_id, msgspec.to_builtins(data)))

    @get("/patients/{profile_id:uuid}/prescriptions", operation_id="proListPrescriptions", raises=[Forbidden])
    async def written(self, profile_id: UUID, actor: Actor) -> list[PrescriptionOut]:
        """The prescriptions you wrote for this patient; what was dispensed only if the patient agreed."""
        require_pro(actor)
        return [_out(p) for p in await services.written(actor, profile_id)]

    @post("/prescriptions/lookup", operation_id="proLookupPrescription", status_code=200,
          raises=[Forbidden, NotFound, TooManyAttempts])
    async def lookup(self, data: LookupIn, actor: Actor) -> PrescriptionOut:
        """Open a prescription by its number, typed or scanned from its QR code (pharmacists)."""
        require_pro(actor)
        return _out(await services.lookup(actor, data.number))

    @get("/prescriptions/{prescription_id:uuid}", operation_id="proGetPrescription", raises=[Forbidden])
    async def get(self, prescription_id: UUID, actor: Actor) -> PrescriptionOut:
        """A prescription you wrote, or one your pharmacy holds the key to."""
        require_pro(actor)
        return _out(await services.for_pro(actor, prescription_id))

    @post("/prescriptions/{prescription_id:uuid}/dispense", operation_id="proDispensePrescription",
          status_code=200, raises=[Forbidden, Unprocessable, Conflict])
    async def dispense(self, prescription_id: UUID, data: DispenseIn, actor: Actor) -> PrescriptionOut:
        """Record what is handed over, line by line (partial deliveries and substitutions with a reason)."""
        require_pro(actor)
        items = [msgspec.to_builtins(item) for item in data.lines]
        for item, line in zip(items, data.lines, strict=True):
            item["line_id"] = line.line_id
        return _out(await services.dispense(actor, prescription_id, items))

    @post("/prescriptions/{prescription_id:uuid}/cancel", operation_id="proCancelPrescription",
          status_code=200, raises=[Forbidden, Conflict])
    async def cancel(self, prescription_id: UUID, actor: Actor) -> PrescriptionOut:
        """Cancel a prescription you wrote, as long as nothing of it was dispensed."""
        require_pro(actor)
        return _out(await services.cancel(actor, prescription_id))
