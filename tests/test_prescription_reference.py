"""The e-prescription's reference data, number and printable copy: pure functions, no database."""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_Q

from backend.prescriptions import number, pdf, reference

PROFESSIONS = json.loads((Path(reference.__file__).parents[1] / "professionals" / "professions.json").read_text())


@pytest.fixture(autouse=True)
def fresh_world():
    """Overrides the suite's autouse fixture: these tests need no database, so none is restored."""


# --- medications ------------------------------------------------------------------------


def test_medications_name_their_source_and_date():
    raw = json.loads((Path(reference.__file__).parent / "medications.json").read_text(encoding="utf-8"))
    assert "CIS_bdpm.txt" in raw["source"] and "base-donnees-publique.medicaments.gouv.fr" in raw["source"]
    date.fromisoformat(raw["retrieved"])
    date.fromisoformat(raw["data_as_of"])
    assert raw["note"]
    assert 40 <= len(raw["medications"]) <= 150


def test_cis_codes_are_eight_digits_and_unique():
    codes = [med["cis"] for med in reference.MEDICATIONS]
    assert all(re.fullmatch(r"[0-9]{8}", code) for code in codes)
    assert len(set(codes)) == len(codes)
    for med in reference.MEDICATIONS:
        assert med["label"].strip() and med["inn"].strip() and med["form"].strip() and med["holder"].strip()
        assert med["route_code"] in reference.routes()


def test_an_inn_is_sold_by_several_labs_so_a_generic_substitution_makes_sense():
    holders: dict[str, set] = {}
    for med in reference.MEDICATIONS:
        holders.setdefault(med["inn"], set()).add(med["holder"])
    assert len([inn for inn, labs in holders.items() if len(labs) >= 2]) >= 5
    assert {"paracétamol", "amoxicilline", "lévothyroxine", "metformine", "atorvastatine"} <= holders.keys()
    generics = reference.same_inn("60234100")
    assert generics and all(med["inn"] == "paracétamol" for med in generics)
    assert "60234100" not in {med["cis"] for med in generics}


def test_medication_by_cis():
    assert reference.medication("60234100")["label"] == "DOLIPRANE 1000 mg, comprimé"
    assert reference.medication(" 60234100 ")["inn"] == "paracétamol"
    assert reference.medication("00000000") is None
    assert reference.medication("") is None
    copy = reference.medication("60234100")
    copy["label"] = "changed"
    assert reference.medication("60234100")["label"] == "DOLIPRANE 1000 mg, comprimé"


def test_search_ignores_accents_and_case():
    upper = reference.search_medications("DOLIPRANE")
    assert upper and upper == reference.search_medications("doliprane") == reference.search_medications("Doliprâne")
    assert upper[0]["label"].startswith("DOLIPRANE")
    levothyrox = reference.search_medications("levothyrox")
    assert levothyrox == reference.search_medications("LÉVOTHYROX")
    assert levothyrox[0]["label"].startswith("LEVOTHYROX")  # the label match before L-THYROXINE, an INN match


def test_search_finds_by_inn():
    results = reference.search_medications("paracetamol", limit=100)
    found = [med["cis"] for med in results]
    assert "60234100" in found  # DOLIPRANE: "paracétamol" is its INN, not in its label
    assert "62887947" in found  # DAFALGAN
    assert results[0]["label"].startswith("PARACETAMOL")  # label matches first
    assert found.index("68787715") < found.index("60234100")  # PARACETAMOL BIOGARAN before DOLIPRANE
    both = reference.search_medications("amoxicilline clavulanique", limit=100)
    assert both and all(med["inn"] == "amoxicilline + acide clavulanique" for med in both)


def test_search_limit_and_empty_query():
    assert len(reference.search_medications("paracetamol", limit=3)) == 3
    assert reference.search_medications("") == []
    assert reference.search_medications("   ") == []
    assert reference.search_medications("zzzz-not-a-drug") == []


# --- rules ------------------------------------------------------------------------------


def test_who_may_prescribe():
    assert reference.may_prescribe("10") is True
    assert reference.may_prescribe(10) is True
    assert reference.may_prescribe("40") is True
    assert reference.may_prescribe("50") is True
    assert reference.may_prescribe("21") is False  # pharmacist
    assert reference.may_prescribe("60") is False
    assert reference.may_prescribe("99") is False
    assert reference.may_prescribe(None) is False
    assert set(PROFESSIONS["professions"]) <= set(reference.RULES["prescribers"]["professions"])
    assert "R.5132-6" in reference.prescriber_scope("10")["reference"]


def test_validity_periods():
    validity = reference.validity()
    assert validity["first_dispensing_months"] == 3 and validity["max_treatment_months"] == 12
    assert validity["first_dispensing_days"] == 90 and validity["max_treatment_days"] == 365
    rules = reference.RULES["validity"]
    assert "R.5132-22" in rules["first_dispensing"]["reference"] and "trois mois" in rules["first_dispensing"]["source_text"]
    assert "R.5132-21" in rules["max_treatment"]["reference"] and "douze mois" in rules["max_treatment"]["source_text"]
    assert reference.first_dispensing_by(date(2026, 3, 14)) == date(2026, 6, 13)
    assert reference.first_dispensing_by(date(2025, 11, 30)) == date(2026, 2, 27)
    assert reference.treatment_end(date(2026, 3, 14)) == date(2027, 3, 13)
    assert reference.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert reference.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert reference.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_non_substitution_reasons():
    reasons = reference.non_substitution_reasons()
    assert set(reasons) == {"MTE", "EFG", "CIF"}
    assert all(entry["fr"] and entry["en"] for entry in reasons.values())
    assert "12 novembre 2019" in reference.RULES["non_substitution_reasons"]["source"]
    assert "lévothyroxine" in reference.mte_substances()


def test_substitution_codes_follow_fhir():
    types, reasons = reference.substitution_types(), reference.substitution_reasons()
    assert {"G", "E", "TE"} <= set(types)
    assert set(reasons) == {"CT", "FP", "OS", "RR"}
    assert reference.system_of("substitution_types") == "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution"
    assert reference.system_of("substitution_reasons") == "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    assert types["G"]["en"] == "generic composition" and reasons["OS"]["en"] == "out of stock"


def test_routes_and_units():
    routes = reference.routes()
    assert routes["oral"]["edqm"] == "20053000" and reference.ROUTE_SYSTEM == "http://standardterms.edqm.eu"
    assert all(re.fullmatch(r"200[0-9]{5}", entry["edqm"]) for entry in routes.values())
    assert reference.route_code("voie orale") == reference.route_code("20053000") == reference.route_code("oral")
    assert reference.route_code("ORALE") == "oral"
    assert reference.route_code("by owl") is None
    assert reference.dose_unit_code("comprimés") == "{tbl}" == reference.dose_unit_code("tablet")
    assert reference.dose_unit_code("mg") == "mg"
    assert reference.UNIT_SYSTEM == "http://unitsofmeasure.org"
    assert set(reference.period_units()) == {"h", "d", "wk", "mo"}


# --- the number -------------------------------------------------------------------------


def test_new_number_is_eighteen_characters_of_the_alphabet():
    value = number.new_number()
    assert len(value) == 18 and re.fullmatch(r"[A-Z0-9]{18}", value)


def test_ten_thousand_numbers_are_unique_and_not_sequential():
    values = [number.new_number() for _ in range(10_000)]
    assert len(set(values)) == len(values)
    assert values != sorted(values)
    # Consecutive numbers share no prefix beyond chance (a counter would share 17 characters).
    assert sum(a[:4] == b[:4] for a, b in zip(values, values[1:], strict=False)) < 5
    # Every position draws on the whole alphabet, roughly evenly.
    for position in range(18):
        counts = Counter(value[position] for value in values)
        assert len(counts) == 36
        assert max(counts.values()) < 2 * 10_000 / 36


def test_normalise_accepts_typed_forms():
    assert number.normalise("ABCDEF123456GHIJKL") == "ABCDEF123456GHIJKL"
    assert number.normalise("abcdef 123456 ghijkl") == "ABCDEF123456GHIJKL"
    assert number.normalise(" abcdef-123456-GHIJKL ") == "ABCDEF123456GHIJKL"


@pytest.mark.parametrize("value", [
    "ABCDEF123456GHIJK",  # 17
    "ABCDEF123456GHIJKLM",  # 19
    "ABCDEF123456GHIJK!",
    "ABCDEF123456GHIJK_",
    "ABCDEF123456GHIJKß",  # "ß".upper() is "SS": still refused
    "ÀBCDEF123456GHIJKL",
    "",
    None,
])
def test_normalise_refuses_anything_else(value):
    assert number.normalise(value) is None


def test_grouped_prints_groups_of_six():
    assert number.grouped("ABCDEF123456GHIJKL") == "ABCDEF 123456 GHIJKL"
    assert number.grouped("abcdef-123456-ghijkl") == "ABCDEF 123456 GHIJKL"


# --- dosage ------------------------------------------------------------------------------

DOSAGE = {"dose_value": 1, "dose_unit": "{tbl}", "frequency": 3, "period": 1, "period_unit": "d",
          "route": "oral", "duration_days": 5, "text": "Au milieu des repas."}


def test_dosage_text_in_french_and_english():
    assert pdf.dosage_text(DOSAGE) == "1 comprimé 3 fois par jour, voie orale, pendant 5 jours. Au milieu des repas."
    assert pdf.dosage_text(DOSAGE, "en") == "1 tablet 3 times a day, oral use, for 5 days. Au milieu des repas."


@pytest.mark.parametrize(("dosage", "fr", "en"), [
    ({"dose_value": 2, "dose_unit": "comprimé", "frequency": 2},
     "2 comprimés 2 fois par jour.", "2 tablets twice a day."),
    ({"dose_value": 0.5, "dose_unit": "{tbl}", "frequency": 1, "period_unit": "d"},
     "0,5 comprimé 1 fois par jour.", "0.5 tablets once a day."),
    ({"dose_value": 1.5, "dose_unit": "{tbl}", "frequency": 1},
     "1,5 comprimé 1 fois par jour.", "1.5 tablets once a day."),
    ({"dose_value": 2, "dose_unit": "{puff}", "frequency": 1, "period": 6, "period_unit": "h", "as_needed": True,
      "route": "20020000"},
     "2 bouffées toutes les 6 heures si besoin, voie inhalée.", "2 puffs every 6 hours as needed, inhalation use."),
    ({"dose_value": 5, "dose_unit": "mL", "frequency": 2, "period": 2, "period_unit": "d", "duration_days": 1},
     "5 mL 2 fois tous les 2 jours, pendant 1 jour.", "5 mL twice every 2 days, for 1 day."),
    ({"dose_value": 1, "dose_unit": "{caps}", "frequency": 4, "period": 1, "period_unit": "d"},
     "1 gélule 4 fois par jour.", "1 capsule 4 times a day."),
    ({"dose_value": 1, "dose_unit": "{appl}", "frequency": 1, "period": 1, "period_unit": "wk", "route": "cutaneous"},
     "1 application 1 fois par semaine, voie cutanée.", "1 application once a week, cutaneous use."),
    ({"dose_value": 10, "dose_unit": "gouttes", "route": "une voie inconnue"},
     "10 gouttes, une voie inconnue.", "10 drops, une voie inconnue."),
    ({"frequency": 1, "period": 8, "period_unit": "h"}, "Toutes les 8 heures.", "Every 8 hours."),
    ({"text": "  Selon   le schéma remis. "}, "Selon le schéma remis.", "Selon le schéma remis."),
    ({}, "", ""),
])
def test_dosage_text_shapes(dosage, fr, en):
    assert pdf.dosage_text(dosage, "fr") == fr
    assert pdf.dosage_text(dosage, "en") == en


# --- the printable copy ------------------------------------------------------------------

NUMBER = "K7Q2ZB9MX4TA8RWC3N"


def _prescription(**changes) -> dict:
    p = {
        "number": NUMBER,
        "created_at": date(2026, 3, 14),
        "prescriber": {"first_name": "Alice", "last_name": "MÉDECIN", "rpps": "10000000017",
                       "profession": "Médecin", "specialty": "Médecine générale",
                       "structure": "Cabinet du Parc", "address": "1 rue de la Paix", "postcode": "75002",
                       "commune": "Paris"},
        "patient": {"first_name": "Camille", "last_name": "INVENTÉE", "birth_date": date(1984, 5, 12),
                    "weight_kg": 62.5},
        "lines": [
            {"label": "DOLIPRANE 1000 mg, comprimé", "cis": "60234100", "dosage_text": pdf.dosage_text(DOSAGE),
             "quantity": 1, "quantity_unit": "boîte", "renewals": 0, "non_substitutable": False,
             "non_substitution_reason": None},
            {"label": "LEVOTHYROX 75 microgrammes, comprimé sécable", "cis": "62080626",
             "dosage": {"dose_value": 1, "dose_unit": "{tbl}", "frequency": 1, "route": "oral",
                        "duration_days": 30, "text": "Le matin à jeun."},
             "quantity": 1, "quantity_unit": "boîte", "renewals": 2, "non_substitutable": True,
             "non_substitution_reason": "MTE"},
        ],
        "consent_dispensing_visible": True,
    }
    p.update(changes)
    return p


def _content(data: bytes) -> bytes:
    """Every stream of the PDF, inflated when compressed, joined."""
    parts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            parts.append(stream)
    return b"\n".join(parts)


def _printed(text: str) -> bytes:
    """How a core-font text shows in a content stream (WinAnsi bytes, parentheses escaped)."""
    return text.encode("cp1252").replace(b"(", b"\\(").replace(b")", b"\\)")


def test_pdf_carries_the_patient_prescriber_number_and_mentions():
    data = pdf.render(_prescription())
    assert data.startswith(b"%PDF-")
    content = _content(data)
    for text in ("Camille INVENTÉE", "12/05/1984", "62,5 kg", "RPPS 10000000017", "Alice MÉDECIN",
                 "Le 14/03/2026", "K7Q2ZB 9MX4TA 8RWC3N", "Non substituable (MTE)", "À renouveler 2 fois",
                 "Non renouvelable", "1 comprimé 3 fois par jour, voie orale, pendant 5 jours.",
                 "Le patient accepte que le prescripteur consulte les informations de délivrance",
                 "Ordonnance numérique n° K7Q2ZB 9MX4TA 8RWC3N", "R.5132-22"):
        assert _printed(text) in content, text
    assert _printed("n'accepte pas") not in content


def test_pdf_prints_the_refusal_of_the_consent():
    content = _content(pdf.render(_prescription(consent_dispensing_visible=False)))
    assert _printed("Le patient n'accepte pas que le prescripteur consulte les informations de délivrance") in content


def test_pdf_accepts_the_directory_profile_and_unprintable_characters():
    pro = {"first_name": "Łukasz", "last_name": "NOWAK", "rpps": "10000000017", "profession": "Médecin",
           "profession_code": "10", "specialty": None, "structure_name": "Maison de santé",
           "structure": {"name": "Maison de santé", "address": "3 rue Œuf → 2", "postcode": "92000",
                         "commune": "Nanterre"}}
    content = _content(pdf.render(_prescription(prescriber=pro, patient={
        "first_name": "Zoë", "last_name": "李 INVENTÉE", "birth_date": "2020-01-02"})))
    assert _printed("Lukasz NOWAK") in content
    assert _printed("3 rue Œuf -> 2") in content and _printed("92000 Nanterre") in content
    assert _printed("Zoë ? INVENTÉE") in content and _printed("02/01/2020") in content


def test_pdf_breaks_pages_for_long_prescriptions():
    line = _prescription()["lines"][1]
    data = pdf.render(_prescription(lines=[line] * 20))
    pages = int(re.search(rb"/Count (\d+)", data).group(1))
    assert pages >= 2
    content = _content(data)
    for page in range(1, pages + 1):  # every page has the footer, with the page count filled in
        assert f"(Page {page}/) Tj ({pages}) Tj".encode() in content
    assert content.count(_printed("Ordonnance numérique n° K7Q2ZB 9MX4TA 8RWC3N")) == pages
    assert content.count(_printed("Non substituable (MTE)")) == 20


def _drawn_matrix(content: bytes) -> list[list[bool]]:
    """The QR modules drawn on the page, rebuilt from its filled rectangles (``x y w h re f``)."""
    rects = [tuple(map(float, match)) for match in re.findall(
        rb"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re f", content)]
    assert rects
    # PDF y grows upwards: a rectangle's top edge is y, its height h is negative.
    left, top = min(x for x, _, _, _ in rects), max(y for _, y, _, _ in rects)
    module = min(min(w for _, _, w, _ in rects), min(-h for _, _, _, h in rects))
    size = round((max(x + w for x, _, w, _ in rects) - left) / module)
    grid = [[False] * size for _ in range(size)]
    for x, y, w, h in rects:
        column, row = round((x - left) / module), round((top - y) / module)
        for r in range(row, row + round(-h / module)):
            for c in range(column, column + round(w / module)):
                grid[r][c] = True
    return grid


def test_the_qr_code_encodes_exactly_the_number():
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(NUMBER)
    code.make(fit=True)
    expected = code.get_matrix()
    assert _drawn_matrix(_content(pdf.render(_prescription()))) == expected


def test_a_different_number_draws_a_different_code():
    first = _drawn_matrix(_content(pdf.render(_prescription())))
    other = _drawn_matrix(_content(pdf.render(_prescription(number="ZZZZZZ000000ZZZZZZ"))))
    assert first != other


def test_safe_keeps_windows_1252_and_replaces_the_rest():
    assert pdf.safe("œuvre « à » – 5 €") == "œuvre « à » – 5 €"
    assert pdf.safe("≥ 2 → ā\u202fb") == ">= 2 -> a b"
    assert pdf.safe("中") == "?"
