"""E-prescription services: write, read, send to a pharmacy, open by number, dispense, cancel.

Every function resolves the actor's policy once and works through the
:class:`~backend.prescriptions.repository.PrescriptionRepository` built from it,
then records one event in the patient's access history with the real outcome
(a citizen's own reads are not recorded: it is their record).
"""

from __future__ import annotations

import asyncio
from datetime import date
from uuid import UUID

import msgspec

from backend.access.rules import relation_to
from backend.accounts import throttle
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.core.names import display_name
from backend.core.qr import svg_qr
from backend.core.settings import Settings
from backend.documents import audit
from backend.documents.ingest import Submission, ingest
from backend.documents.services import blob_store, open_record
from backend.identity import people
from backend.messaging import services as messaging
from backend.prescriptions import number as numbers
from backend.prescriptions import pdf, reference
from backend.prescriptions.policy import PHARMACIST, PrescriptionPolicy, policy_for
from backend.prescriptions.repository import (
    Overtaken,
    PrescriptionRepository,
    locate,
    number_taken,
    overtaken,
)
from backend.prescriptions.schemas import PrescriptionIn
from backend.prescriptions.tables import MyPharmacy
from backend.professionals import directory

PRESCRIPTION_TYPE = "57833-6"  # LOINC: prescription for medication
MAX_PAGE_SIZE = 50
LOOKUP_LIMITS = throttle.Limits(slow_after=5, lock_after=20)
__all__ = ["Overtaken"]


def _problem(field: str, rule: str, fr: str, en: str, cls: type = Unprocessable) -> Exception:
    return cls(fr, detail_en=en, errors=[{"field": field, "rule": rule, "message": fr, "message_en": en}])


# --- statuses ----------------------------------------------------------------------------


def line_limit(line: dict) -> int:
    """The most that may ever be dispensed for a line: quantity × (1 + renewals)."""
    return line["quantity"] * (1 + line["renewals"])


def line_status(prescription: dict, line: dict, today: date | None = None) -> str:
    """``to_dispense``, ``partly_dispensed``, ``dispensed``, ``expired`` or ``cancelled``."""
    today = today or date.today()
    if prescription["status"] == "cancelled":
        return "cancelled"
    if line["dispensed"] >= line_limit(line):
        return "dispensed"
    late = today > prescription["first_dispense_by"]
    if today > prescription["treatment_end"] or (line["dispensed"] == 0 and late):
        return "expired"
    return "partly_dispensed" if line["dispensed"] else "to_dispense"


async def _names(pro_ids: set) -> dict:
    return {pro_id: await directory.pro_profile(pro_id) for pro_id in pro_ids}


def _public(row: dict, prescribers: dict, *, show_dispenses: bool, patient: dict | None = None) -> dict:
    pro = prescribers[row["prescriber"]]
    today = date.today()
    lines = []
    for line in row["lines"]:
        status = line_status(row, line, today)
        lines.append({
            "id": line["id"], "position": line["position"], "cis": line["cis"], "label": line["label"],
            "dosage": line["dosage"], "dosage_text": line["dosage_text"], "quantity": line["quantity"],
            "quantity_unit": line["quantity_unit"], "renewals": line["renewals"],
            "non_substitutable": bool(line["non_substitutable"]),
            "non_substitution_reason": line["non_substitution_reason"],
            "limit": line_limit(line),
            "dispensed": line["dispensed"] if show_dispenses else None,
            "status": status if show_dispenses or status == "cancelled" else None,
            "dispenses": [{
                "id": d["id"], "quantity": d["quantity"], "cis": d["cis"], "label": d["label"],
                "pharmacy": d["structure_name"], "substitution_type": d["substitution_type"],
                "substitution_reason": d["substitution_reason"], "handed_over_at": d["handed_over_at"],
            } for d in line["dispenses"]] if show_dispenses else [],
        })
    statuses = {line["status"] for line in lines}
    return {
        "id": row["id"], "number": row["number"], "status": row["status"], "person_id": row["person"],
        "authored_on": row["authored_on"], "first_dispense_by": row["first_dispense_by"],
        "treatment_end": row["treatment_end"], "dispensing_visible": bool(row["dispensing_visible"]),
        "patient_weight_kg": row["patient_weight_kg"], "document_id": row["document"],
        "prescriber": {"id": pro["id"], "name": f"{pro['first_name']} {pro['last_name']}",
                       "rpps": pro["rpps"], "profession": pro["profession"],
                       "structure": pro["structure_name"]},
        "patient": patient,
        "summary": _summary(statuses) if show_dispenses else None,
        "lines": lines,
    }


def _summary(statuses: set) -> str:
    """One status for the whole prescription, from its lines'."""
    for status in ("cancelled", "to_dispense", "partly_dispensed"):
        if statuses == {status}:
            return status
    if statuses <= {"dispensed"}:
        return "dispensed"
    if statuses <= {"expired", "dispensed"}:
        return "expired"
    return "partly_dispensed"


async def _who(actor: Actor, policy: PrescriptionPolicy) -> audit.Who:
    label = await display_name(actor)
    if policy.is_pro:
        return audit.Who("pro", str(actor.professional_id), label)
    on_behalf = await people.full_name(policy.person_id) if policy.kind in ("delegate", "parent") else None
    return audit.Who(policy.kind, str(actor.person_id), label, on_behalf)


async def _open(actor: Actor, person_id: UUID, action: str, resource: str = "", *,
                scope: str = "read_documents", structure_id: UUID | None = None
                ) -> tuple[PrescriptionRepository, audit.Who]:
    """The actor's repository on a person's prescriptions; a refused professional is recorded, then 404."""
    policy = await policy_for(actor, person_id, scope=scope, structure_id=structure_id)
    who = await _who(actor, policy)
    if policy.refused:
        await audit.record(who, person_id, action, resource, outcome="refused", purpose=policy.refusal or "")
        raise NotFound()
    return PrescriptionRepository(policy), who


async def _located(prescription_id: UUID):
    where = await locate(prescription_id)
    if where is None:
        raise NotFound()
    return where


async def _pharmacy_of(actor: Actor) -> dict:
    structure = await directory.structure_of(actor.professional_id)
    if structure is None:
        raise NotFound()
    return structure


# --- the prescriber ----------------------------------------------------------------------


def _check_line(index: int, line: dict) -> dict:
    field = f"lines[{index}]"
    if line.get("cis"):
        med = reference.medication(line["cis"])
        if med is None:
            raise _problem(f"{field}.cis", "unknown", f"Médicament inconnu : code CIS « {line['cis']} ».",
                           f"Unknown medication: CIS code '{line['cis']}'.")
        label = med["label"]
    elif (line.get("label") or "").strip():
        label = " ".join(line["label"].split())
    else:
        raise _problem(f"{field}.cis", "required", "Choisissez un médicament de la liste ou écrivez sa DCI.",
                       "Choose a medication from the list or write its international name.")
    reason = line.get("non_substitution_reason")
    if line.get("non_substitutable") and reason not in reference.non_substitution_reasons():
        codes = ", ".join(reference.non_substitution_reasons())
        raise _problem(f"{field}.non_substitution_reason", "enum",
                       f"« Non substituable » demande un motif : {codes}.",
                       f"'Non-substitutable' needs a reason: {codes}.")
    if not line.get("non_substitutable") and reason:
        raise _problem(f"{field}.non_substitution_reason", "unexpected",
                       "Un motif de non-substitution n'a de sens que si la ligne est non substituable.",
                       "A non-substitution reason only applies to a non-substitutable line.")
    dosage = dict(line["dosage"])
    return {**line, "label": label, "cis": line.get("cis") or None, "dosage": dosage,
            "dosage_text": pdf.dosage_text(dosage, "fr")[:600],
            "non_substitution_reason": reason if line.get("non_substitutable") else None}


async def write(settings: Settings, actor: Actor, person_id: UUID, data: dict) -> dict:
    """A prescriber writes a prescription for a patient with a basis of access.

    The structured prescription and its printable copy (a PDF in the record, type
    57833-6) are written in one transaction: either both exist or neither.

    Raises:
        Forbidden: the professional's profession may not prescribe medicines.
        NotFound: no basis of access (recorded as refused), or an unknown record.
        Unprocessable: an unknown medication, a missing non-substitution reason.
    """
    data = msgspec.to_builtins(msgspec.convert(data, PrescriptionIn))  # defaults for every caller
    pro = await directory.pro_profile(actor.professional_id)
    if not reference.may_prescribe(pro["profession_code"]):
        raise Forbidden("Votre profession ne permet pas de prescrire des médicaments.",
                        detail_en="Your profession may not prescribe medicines.")
    repo, who = await _open(actor, person_id, "prescription.create")
    if repo.policy.kind != "prescriber" or repo.policy.basis is None:
        await audit.record(who, person_id, "prescription.create", outcome="refused",
                           purpose="no care relationship")
        raise NotFound()
    lines = [_check_line(i, line) | {"position": i + 1} for i, line in enumerate(data["lines"])]
    validity = reference.validity()
    authored = utcnow()
    today = authored.date()
    longest = max((line["dosage"].get("duration_days") or 0) * (1 + line["renewals"]) for line in lines)
    if longest > (most := validity["max_treatment_days"]):
        raise _problem("lines", "duration",
                       f"Traitement trop long : {most} jours au plus, renouvellements compris.",
                       f"Treatment too long: at most {most} days, renewals included.")
    number = numbers.new_number()
    while await number_taken(number):
        number = numbers.new_number()
    patient = await people.summary(person_id)
    copy = await asyncio.to_thread(pdf.render, {
        "number": number, "created_at": today, "prescriber": pro,
        "patient": {"first_name": patient["first_name"], "last_name": patient["birth_name"],
                    "birth_date": patient["birth_date"], "weight_kg": data.get("patient_weight_kg")},
        "lines": lines, "consent_dispensing_visible": data["dispensing_visible"],
    })
    values = {"number": number, "person": person_id, "authored_on": authored,
              "first_dispense_by": reference.first_dispensing_by(today),
              "treatment_end": reference.treatment_end(today),
              "dispensing_visible": data["dispensing_visible"],
              "patient_weight_kg": data.get("patient_weight_kg")}
    docs, doc_who = await open_record(actor, person_id, "document.add", feed=True)
    name = f"{pro['first_name']} {pro['last_name']}"
    async with database.transaction():
        prescription_id = await repo.insert(values, lines)
        document = await ingest(settings, blob_store(settings), docs, doc_who, Submission(
            body=copy, filename=f"ordonnance-{today:%Y%m%d}.pdf", title=f"Ordonnance du {today:%d/%m/%Y}",
            type_code=PRESCRIPTION_TYPE, care_date=today, author_label=name, added_by=name,
            source="professional", author_professional=actor.professional_id,
            structure_name=pro["structure_name"]))
        await repo.attach_document(prescription_id, document["id"])
        await audit.record(who, person_id, "prescription.create", str(prescription_id))
    return await _read(repo, prescription_id, show_dispenses=True)


async def _read(repo: PrescriptionRepository, prescription_id: UUID, *, show_dispenses: bool,
                patient: dict | None = None) -> dict:
    row = await repo.get(prescription_id)
    if row is None:
        raise NotFound()
    return _public(row, await _names({row["prescriber"]}), show_dispenses=show_dispenses, patient=patient)


async def cancel(actor: Actor, prescription_id: UUID) -> dict:
    """The prescriber cancels a prescription nothing of which was dispensed."""
    where = await _located(prescription_id)
    repo, who = await _open(actor, where.person_id, "prescription.cancel", str(prescription_id))
    row = await repo.get(prescription_id) if repo.policy.kind == "prescriber" else None
    if row is None:
        await audit.record(who, where.person_id, "prescription.cancel", str(prescription_id),
                           outcome="refused", purpose="outside the actor's rights")
        raise NotFound()
    if not await repo.cancel(prescription_id):
        raise Conflict("Cette ordonnance ne peut plus être annulée : déjà annulée ou en partie délivrée.",
                       detail_en="This prescription can no longer be cancelled: already cancelled or "
                                 "partly dispensed.")
    await audit.record(who, where.person_id, "prescription.cancel", str(prescription_id))
    return await _read(repo, prescription_id, show_dispenses=True)


async def written(actor: Actor, person_id: UUID) -> list[dict]:
    """The prescriptions this prescriber wrote for a patient (dispensing shown if the patient agreed).

    Raises:
        NotFound: not a prescriber with a basis of access to the patient (recorded as refused).
    """
    repo, who = await _open(actor, person_id, "prescription.list")
    if repo.policy.kind != "prescriber" or repo.policy.basis is None:
        reason = "no care relationship" if repo.policy.kind == "prescriber" else "outside the actor's rights"
        await audit.record(who, person_id, "prescription.list", outcome="refused", purpose=reason)
        raise NotFound()
    rows = await repo.page(limit=MAX_PAGE_SIZE, offset=0)
    await audit.record(who, person_id, "prescription.list")
    names = await _names({r["prescriber"] for r in rows})
    return [_public(r, names, show_dispenses=bool(r["dispensing_visible"])) for r in rows]


# --- the citizen side --------------------------------------------------------------------


async def for_profile(actor: Actor, person_id: UUID, *, page: int = 1, page_size: int = 20,
                      record: bool = True) -> dict:
    """A page of a profile's prescriptions, newest first, with a status per line (``record=False``:
    the caller, the export, records its own single event)."""
    if actor.is_pro:
        raise NotFound()
    repo, who = await _open(actor, person_id, "prescription.list")
    rows = await repo.page(limit=page_size, offset=(page - 1) * page_size)
    total = await repo.count()
    if record:
        await audit.record(who, person_id, "prescription.list")
    names = await _names({r["prescriber"] for r in rows})
    return {"items": [_public(r, names, show_dispenses=True) for r in rows], "total": total, "page": page,
            "page_size": page_size}


async def for_citizen(actor: Actor, prescription_id: UUID) -> dict:
    """One prescription of a profile, with the QR code to show at the counter."""
    if actor.is_pro:
        raise NotFound()
    where = await _located(prescription_id)
    repo, who = await _open(actor, where.person_id, "prescription.read", str(prescription_id))
    result = await _read(repo, prescription_id, show_dispenses=True)
    await audit.record(who, where.person_id, "prescription.read", str(prescription_id))
    return {**result, "qr": svg_qr(result["number"])}


async def send_to_pharmacy(settings: Settings, actor: Actor, prescription_id: UUID, structure_id: UUID,
                           note: str | None) -> dict:
    """Send a prescription to a pharmacy in a message; the pharmacy then holds its key.

    Raises:
        NotFound: not the caller's prescription (or a caregiver without ``messaging``).
        Unprocessable: the structure is not a pharmacy (from messaging); the prescription is not active.
    """
    if actor.is_pro:
        raise NotFound()
    where = await _located(prescription_id)
    repo, who = await _open(actor, where.person_id, "prescription.send", str(prescription_id),
                            scope="messaging")
    row = await repo.get(prescription_id)
    if row is None or not repo.policy.may_send:
        raise NotFound()
    if row["status"] != "active":
        raise _problem("prescription", "status", "Une ordonnance annulée ne peut pas être envoyée.",
                       "A cancelled prescription cannot be sent.")
    title = f"Ordonnance du {row['authored_on']:%d/%m/%Y}"
    text = (note or "").strip() or "Voici mon ordonnance."
    async with database.transaction():
        reference_ = {"kind": "prescription", "ref": row["number"], "title": title}
        thread = await messaging.send(settings, actor, where.person_id, text=text, structure_id=structure_id,
                                      subject=title, references=[reference_])
        await repo.open_for(prescription_id, structure_id=structure_id, professional_id=None, via="message")
        await audit.record(who, where.person_id, "prescription.send", str(prescription_id))
    return thread


# --- "ma pharmacie" ----------------------------------------------------------------------


async def my_pharmacy(actor: Actor, person_id: UUID) -> dict | None:
    """The pharmacy the profile marked as "ma pharmacie", or ``None``."""
    await _citizen_side(actor, person_id)
    row = await MyPharmacy.select(MyPharmacy.structure).where(MyPharmacy.person == person_id).first()
    return await directory.get_structure(row["structure"]) if row else None


async def set_my_pharmacy(actor: Actor, person_id: UUID, structure_id: UUID | None) -> dict | None:
    """Mark a pharmacy as "ma pharmacie" (``None`` forgets it)."""
    await _citizen_side(actor, person_id)
    async with database.transaction():
        await MyPharmacy.delete().where(MyPharmacy.person == person_id)
        if structure_id is None:
            return None
        structure = await directory.get_structure(structure_id)
        if structure is None or structure["kind"] != "pharmacy":
            raise _problem("structure_id", "pharmacy", "Choisissez une pharmacie de l'annuaire.",
                           "Choose a pharmacy from the directory.")
        await MyPharmacy.insert(MyPharmacy(person=person_id, structure=structure_id))
    return structure


async def _citizen_side(actor: Actor, person_id: UUID) -> None:
    """The profile's citizen side: its owner, a parent, or a caregiver who may write messages."""
    if actor.is_pro:
        raise NotFound()
    await relation_to(actor, person_id, scope="messaging")


# --- the pharmacist ----------------------------------------------------------------------


def _require_pharmacist(profession_code: str) -> None:
    if profession_code != PHARMACIST:
        raise Forbidden("Réservé aux pharmaciens.", detail_en="For pharmacists only.")


async def lookup(actor: Actor, number: str) -> dict:
    """A pharmacist opens a prescription by its number (typed or scanned), as with the paper copy.

    The number is the key: an unknown number answers 404 and counts against a
    per-pharmacist limit, so numbers cannot be guessed; an opening is recorded in
    the patient's access history and gives the pharmacy the right to dispense.

    Raises:
        TooManyAttempts: too many unknown numbers lately.
        NotFound: unknown number, or the patient blocked this professional (recorded).
        Forbidden: not a pharmacist.
    """
    pro = await directory.pro_profile(actor.professional_id)
    _require_pharmacist(pro["profession_code"])
    key = throttle.Key(f"rx-lookup:{actor.professional_id}", LOOKUP_LIMITS)
    await throttle.check(key)
    normal = numbers.normalise(number)
    where = await locate(number=normal) if normal else None
    if where is None:
        await throttle.record_failure(key)
        raise NotFound("Aucune ordonnance ne porte ce numéro.", detail_en="No prescription has this number.")
    pharmacy = await _pharmacy_of(actor)
    repo, who = await _open(actor, where.person_id, "prescription.read", str(where.id),
                            structure_id=pharmacy["id"])
    await repo.open_for(where.id, structure_id=pharmacy["id"], professional_id=actor.professional_id,
                        via="number")
    return await _for_pro_read(repo, who, where.person_id, where.id)


async def _for_pro_read(repo: PrescriptionRepository, who: audit.Who, person_id: UUID, prescription_id: UUID
                        ) -> dict:
    patient = await people.summary(person_id)
    row = await repo.get(prescription_id)
    if row is None:
        await audit.record(who, person_id, "prescription.read", str(prescription_id), outcome="refused",
                           purpose="outside the actor's rights")
        raise NotFound()
    show = repo.policy.kind == "pharmacist" or bool(row["dispensing_visible"])
    await audit.record(who, person_id, "prescription.read", str(prescription_id))
    names = await _names({row["prescriber"]})
    return _public(row, names, show_dispenses=show, patient={
        "first_name": patient["first_name"], "birth_name": patient["birth_name"],
        "birth_date": patient["birth_date"]})


async def for_pro(actor: Actor, prescription_id: UUID) -> dict:
    """The prescription as its prescriber (dispensing if consented) or a pharmacy with its key sees it."""
    where = await _located(prescription_id)
    structure = await directory.structure_of(actor.professional_id)
    repo, who = await _open(actor, where.person_id, "prescription.read", str(prescription_id),
                            structure_id=structure["id"] if structure else None)
    return await _for_pro_read(repo, who, where.person_id, prescription_id)


async def dispense(actor: Actor, prescription_id: UUID, items: list[dict]) -> dict:
    """Record what the pharmacy hands over, line by line, all or nothing.

    Raises:
        NotFound: the pharmacy does not hold this prescription's key (recorded).
        Unprocessable: an unknown line, a quantity over what remains, an expired or cancelled prescription.
        Overtaken: another pharmacy dispensed one of the lines meanwhile (409).
    """
    where = await _located(prescription_id)
    pharmacy = await _pharmacy_of(actor)
    repo, who = await _open(actor, where.person_id, "prescription.dispense", str(prescription_id),
                            structure_id=pharmacy["id"])
    _require_pharmacist(repo.policy.profession_code)
    row = await repo.get(prescription_id)
    if row is None:
        await audit.record(who, where.person_id, "prescription.dispense", str(prescription_id),
                           outcome="refused", purpose="outside the actor's rights")
        raise NotFound()
    lines = {str(line["id"]): line for line in row["lines"]}
    seen = set()
    planned = []
    for i, item in enumerate(items):
        field = f"lines[{i}]"
        line = lines.get(str(item["line_id"]))
        if line is None or item["line_id"] in seen:
            raise _problem(f"{field}.line_id", "unknown",
                           "Ligne inconnue dans cette ordonnance (ou donnée deux fois).",
                           "Unknown line in this prescription (or given twice).")
        seen.add(item["line_id"])
        status = line_status(row, line)
        if status in ("cancelled", "expired", "dispensed"):
            fr, en = UNDISPENSABLE[status]
            raise _problem(f"{field}.line_id", status, f"Ligne {line['position']} non délivrable : {fr}.",
                           f"Line {line['position']} cannot be dispensed: {en}.")
        if item["expected_dispensed"] != line["dispensed"]:
            raise overtaken(f"{field}.expected_dispensed")
        remaining = line_limit(line) - line["dispensed"]
        if item["quantity"] > remaining:
            raise _problem(f"{field}.quantity", "limit",
                           f"Ligne {line['position']} : {item['quantity']} demandé(s), "
                           f"{remaining} restant(s) au plus (quantité prescrite × renouvellements).",
                           f"Line {line['position']}: {item['quantity']} asked, at most {remaining} left "
                           "(prescribed quantity × renewals).")
        planned.append(_product(field, line, item) | {
            "line": line["id"], "quantity": item["quantity"], "expected": line["dispensed"],
            "limit": line_limit(line)})
    async with database.transaction():
        await repo.dispense(prescription_id, planned, structure_name=pharmacy["name"])
        await audit.record(who, where.person_id, "prescription.dispense", str(prescription_id))
    return await _read(repo, prescription_id, show_dispenses=True)


UNDISPENSABLE = {
    "cancelled": ("l'ordonnance a été annulée par le prescripteur", "the prescriber cancelled it"),
    "expired": ("la durée de validité de l'ordonnance est dépassée", "its validity period is over"),
    "dispensed": ("tout a déjà été délivré", "everything was already dispensed"),
}


def _product(field: str, line: dict, item: dict) -> dict:
    """What was handed over: the prescribed product, or a substitute with its coded type and reason."""
    substitution = item.get("substitution_type")
    if substitution is None:
        return {"cis": line["cis"], "label": line["label"]}
    if line["non_substitutable"]:
        raise _problem(f"{field}.substitution_type", "non-substitutable",
                       f"Ligne {line['position']} : le prescripteur l'a déclarée non substituable.",
                       f"Line {line['position']}: the prescriber marked it non-substitutable.")
    if substitution not in reference.substitution_types():
        raise _problem(f"{field}.substitution_type", "enum", "Type de substitution inconnu.",
                       "Unknown substitution type.")
    if item.get("substitution_reason") not in reference.substitution_reasons():
        raise _problem(f"{field}.substitution_reason", "enum", "Une substitution demande un motif codé.",
                       "A substitution needs a coded reason.")
    med = reference.medication(item["cis"]) if item.get("cis") else None
    if med is None:
        raise _problem(f"{field}.cis", "unknown", "Produit délivré inconnu : choisissez-le dans la liste.",
                       "Unknown product handed over: choose it from the list.")
    return {"cis": med["cis"], "label": med["label"], "substitution_type": substitution,
            "substitution_reason": item["substitution_reason"]}

