"""The e-prescription's reference data: medications (BDPM excerpt) and rules, loaded once.

``medications.json`` is an excerpt of the French public medicines database (CIS
codes, labels, forms, routes, INN); ``rules.json`` holds who may prescribe, the
validity periods, the non-substitution reasons, the dispensing substitution
codes, and the routes and units of a structured dosage, each with its source.
Pure Python, no database: every function answers from memory.
"""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backend.core.text import fold

_HERE = Path(__file__).parent
_MEDICATIONS_FILE = json.loads((_HERE / "medications.json").read_text(encoding="utf-8"))
RULES: dict[str, Any] = json.loads((_HERE / "rules.json").read_text(encoding="utf-8"))

MEDICATIONS: tuple[dict, ...] = tuple(_MEDICATIONS_FILE["medications"])
SOURCE = {key: _MEDICATIONS_FILE[key] for key in ("source", "retrieved", "data_as_of", "note")}
_BY_CIS: dict[str, dict] = {med["cis"]: med for med in MEDICATIONS}
# What a search term is matched against: the folded label and INN of each medication.
_SEARCH_KEYS: tuple[tuple[str, str, dict], ...] = tuple(
    (fold(med["label"]), fold(med.get("inn") or ""), med) for med in MEDICATIONS)

_PRESCRIBERS: dict[str, dict] = RULES["prescribers"]["professions"]
_VALIDITY = MappingProxyType({
    "first_dispensing_months": RULES["validity"]["first_dispensing"]["months"],
    "first_dispensing_days": RULES["validity"]["first_dispensing"]["days"],
    "max_treatment_months": RULES["validity"]["max_treatment"]["months"],
    "max_treatment_days": RULES["validity"]["max_treatment"]["days"],
})


def medication(cis: str) -> dict | None:
    """The medication of a CIS code: ``{cis, label, form, route, route_code, inn, holder}``, or ``None``."""
    med = _BY_CIS.get((cis or "").strip())
    return dict(med) if med else None


def search_medications(q: str, limit: int = 20) -> list[dict]:
    """Medications whose label or INN contains every word of ``q``, accents and case ignored.

    Labels starting with the first word come first (``"levothyrox"`` finds
    LEVOTHYROX before L-THYROXINE), then INNs starting with it (``"paracetamol"``:
    PARACETAMOL BIOGARAN, then DAFALGAN and DOLIPRANE), then the other matches,
    each group in label order. An empty query answers nothing.
    """
    words = fold(q or "").split()
    if not words or limit <= 0:
        return []
    tiers: tuple[list, list, list] = ([], [], [])
    for label, inn, med in _SEARCH_KEYS:
        if all(word in label or word in inn for word in words):
            tier = 0 if label.startswith(words[0]) else 1 if inn.startswith(words[0]) else 2
            tiers[tier].append(med)
    found = [med for tier in tiers for med in sorted(tier, key=lambda med: med["label"])]
    return [dict(med) for med in found[:limit]]


def same_inn(cis: str) -> list[dict]:
    """The other medications with the INN of ``cis`` (candidates for a generic substitution)."""
    med = _BY_CIS.get(cis)
    if med is None:
        return []
    return [dict(other) for other in MEDICATIONS if other["inn"] == med["inn"] and other["cis"] != cis]


# --- the rules --------------------------------------------------------------------------


def may_prescribe(profession_code: str | int | None) -> bool:
    """Whether a profession (code of ``professions.json``) may write a medicine e-prescription."""
    entry = _PRESCRIBERS.get(str(profession_code).strip()) if profession_code is not None else None
    return bool(entry and entry["may_prescribe"])


def prescriber_scope(profession_code: str | int) -> dict | None:
    """What a profession may prescribe: ``{may_prescribe, reference, scope: {fr, en}}``, or ``None``."""
    entry = _PRESCRIBERS.get(str(profession_code))
    return dict(entry) if entry else None


def validity() -> MappingProxyType:
    """The validity periods: ``first_dispensing_months`` (3), ``first_dispensing_days`` (90),
    ``max_treatment_months`` (12), ``max_treatment_days`` (365).

    The day counts approximate the legal months for code that works in days;
    :func:`first_dispensing_by` and :func:`treatment_end` count calendar months.
    """
    return _VALIDITY


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clamped to the month's end (31 January + 1 month → 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def first_dispensing_by(prescribed_on: date) -> date:
    """The last day of a first dispensing: the prescription must be less than 3 months old (R.5132-22).

    Prescribed on 14 March: until 13 June included (on 14 June it is 3 months old).
    """
    return add_months(prescribed_on, _VALIDITY["first_dispensing_months"]) - timedelta(days=1)


def treatment_end(prescribed_on: date) -> date:
    """The last day of the longest treatment, renewals included: 12 months (R.5132-21).

    Prescribed on 14 March 2026: until 13 March 2027 included.
    """
    return add_months(prescribed_on, _VALIDITY["max_treatment_months"]) - timedelta(days=1)


def non_substitution_reasons() -> MappingProxyType:
    """``{"MTE" | "EFG" | "CIF": {fr, en, source_text}}`` (arrêté of 12 November 2019)."""
    return _NON_SUBSTITUTION


def mte_substances() -> tuple[str, ...]:
    """The INNs for which « non substituable MTE » may be written (annex of the same arrêté)."""
    return _MTE


def substitution_types() -> MappingProxyType:
    """FHIR ``MedicationDispense.substitution.type`` codes: ``{"G": {fr, en}, "E": ..., ...}``."""
    return _SUBSTITUTION_TYPES


def substitution_reasons() -> MappingProxyType:
    """FHIR ``MedicationDispense.substitution.reason`` codes: ``{"CT" | "FP" | "OS" | "RR": {fr, en}}``."""
    return _SUBSTITUTION_REASONS


def routes() -> MappingProxyType:
    """Routes of administration: ``{"oral": {edqm, fr, en, bdpm}, ...}`` (EDQM: :data:`ROUTE_SYSTEM`)."""
    return _ROUTES


def dose_units() -> MappingProxyType:
    """UCUM dose units: ``{"{tbl}": {fr, fr_plural, en, en_plural}, "mg": ..., ...}``."""
    return _DOSE_UNITS


def period_units() -> MappingProxyType:
    """FHIR ``Timing.repeat.periodUnit`` codes ``h``, ``d``, ``wk``, ``mo``, with French and English words."""
    return _PERIOD_UNITS


def route_code(value: str | None) -> str | None:
    """The route code of a code, an EDQM code, a BDPM route or a label (``"voie orale"``), or ``None``."""
    if not value:
        return None
    return _ROUTE_LOOKUP.get(fold(value.strip()))


def dose_unit_code(value: str | None) -> str | None:
    """The UCUM code of a unit given as its code or its French or English word (singular or plural)."""
    if not value:
        return None
    if value in _DOSE_UNITS:
        return value
    return _UNIT_LOOKUP.get(fold(value.strip()))


def system_of(section: str) -> str:
    """The code-system URI of a rules section (``routes``, ``substitution_types``, ...)."""
    return RULES[section]["system"]


def _frozen(codes: dict) -> MappingProxyType:
    return MappingProxyType({code: MappingProxyType(entry) for code, entry in codes.items()})


_NON_SUBSTITUTION = _frozen(RULES["non_substitution_reasons"]["codes"])
_MTE = tuple(RULES["non_substitution_reasons"]["mte_substances"])
_SUBSTITUTION_TYPES = _frozen(RULES["substitution_types"]["codes"])
_SUBSTITUTION_REASONS = _frozen(RULES["substitution_reasons"]["codes"])
_ROUTES = _frozen(RULES["routes"]["codes"])
_DOSE_UNITS = _frozen(RULES["dose_units"]["codes"])
_PERIOD_UNITS = _frozen(RULES["period_units"]["codes"])
ROUTE_SYSTEM = RULES["routes"]["system"]
UNIT_SYSTEM = RULES["dose_units"]["system"]

_ROUTE_LOOKUP = {
    fold(name): code
    for code, entry in _ROUTES.items()
    for name in (code, entry["edqm"], entry["fr"], entry["en"], entry["bdpm"])
}
_UNIT_LOOKUP = {
    fold(name): code
    for code, entry in _DOSE_UNITS.items()
    for name in (entry["fr"], entry["fr_plural"], entry["en"], entry["en_plural"])
}
