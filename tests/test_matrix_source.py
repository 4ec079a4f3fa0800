"""The profession x document-type matrix: its legal source, and both sides of every row.

``backend/access/matrix.json`` cites the annex ("matrice d'habilitations") of the
arrêté du 26 octobre 2023 (JORF n°0252 du 29 octobre 2023). For every profession
row, one type it may see and one it may not are checked through the rule the
record applies (``documents.policy.allowed_types``, which reads
``access.rules.matrix_row``), then through the record itself: a professional of
that profession, given a temporary code, lists the patient's documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.access.rules import matrix_row
from backend.documents.catalogue import TYPES
from backend.documents.policy import allowed_types
from tests.docworld import make_pro

ROOT = Path(__file__).resolve().parents[1] / "backend"
MATRIX = json.loads((ROOT / "access" / "matrix.json").read_text())
PROFESSIONS = json.loads((ROOT / "professionals" / "professions.json").read_text())["professions"]

PSYCHIATRIC_SUMMARY, PSYCHOLOGICAL_ASSESSMENT, BIRTH_REPORT = "68599-0", "83901-9", "15508-5"

# One type each profession may see and one it may not, stated here rather than read from the
# file under test. Physicians see every catalogue type: the one document the annex withholds from
# them, the residence certificate, is not a catalogue type (checked separately below).
BOTH_SIDES = {
    "10": ("68599-0", None),  # everything but the residence certificate
    "21": ("18748-4", PSYCHIATRIC_SUMMARY),  # imaging is reported open to pharmacists
    "40": ("57833-6", PSYCHOLOGICAL_ASSESSMENT),  # the dentist exclusions reported from the annex
    "50": (BIRTH_REPORT, PSYCHIATRIC_SUMMARY),
    "60": ("11488-4", PSYCHOLOGICAL_ASSESSMENT),
    "70": ("57832-8", PSYCHIATRIC_SUMMARY),
    "80": ("18748-4", BIRTH_REPORT),
}

# The documents of the record world (tests/docworld.py) a professional with a basis may find,
# by type: the masked and the not-yet-announced ones stay out of a temporary code's view.
WORLD = {"57833-6": "Ordonnance", "11502-2": "Bilan sanguin", "68599-0": "Synthèse psychiatrique",
         "15508-5": "Compte rendu d'accouchement", "11488-4": "Consultation", "18748-4": "Radiographie"}
WORLD_SIDES = {
    "10": ("Synthèse psychiatrique", None),
    "21": ("Radiographie", "Synthèse psychiatrique"),
    "40": ("Ordonnance", "Synthèse psychiatrique"),
    "50": ("Compte rendu d'accouchement", "Synthèse psychiatrique"),
    "60": ("Consultation", "Synthèse psychiatrique"),
    "70": ("Bilan sanguin", "Synthèse psychiatrique"),
    "80": ("Radiographie", "Compte rendu d'accouchement"),
}


def test_the_matrix_cites_the_arrete_and_its_annex():
    source = MATRIX["source"]
    assert "Arrêté du 26 octobre 2023" in source
    assert "JORF n°0252 du 29 octobre 2023" in source
    assert "matrice d'habilitations" in source
    assert "https://" in source
    assert "NOT seen" in source and "inferred" in source  # what comes from the annex, what does not
    assert all(r["url"].startswith(("https://", "http://")) and r["reports"] for r in MATRIX["reports"])


def test_the_annex_classes_are_the_dmp_eleven():
    classes = MATRIX["annex_classes"]["classes"]
    assert len(classes) == 11
    assert {"Compte rendu", "Synthèse", "Imagerie médicale", "Prescription", "Dispensation",
            "Certificat, déclaration", "Données de remboursement", "Document de gestion"} <= set(classes.values())
    # Every catalogue type is placed in one of them.
    assert set(MATRIX["mapping"]["types"]) == set(TYPES)
    assert set(MATRIX["mapping"]["types"].values()) <= set(classes)


def test_every_row_is_a_known_profession_and_classifies_every_catalogue_type():
    assert set(BOTH_SIDES) == set(MATRIX["professions"])
    for code, row in MATRIX["professions"].items():
        assert code in PROFESSIONS, code
        assert row["categories"] == ["*"], code
        allow, deny = set(row["allow_types"]), set(row["deny_types"])
        assert not allow & deny, code
        assert allow | deny == set(TYPES), f"{code}: classify {sorted(set(TYPES) - allow - deny)}"
        assert row["basis"], code


@pytest.mark.parametrize("code", sorted(BOTH_SIDES))
def test_both_sides_of_the_row_through_the_rule(code):
    seen, hidden = BOTH_SIDES[code]
    allowed = allowed_types(code)
    assert seen in allowed
    assert allowed == frozenset(MATRIX["professions"][code]["allow_types"])
    assert matrix_row(code) is not None
    if hidden is not None:
        assert hidden not in allowed
    else:
        # The physician's denied side lies outside the catalogue: named in the file, and no type
        # outside the catalogue can be allowed.
        assert MATRIX["professions"][code]["annex_denied_outside_catalogue"] == ["Attestation de résidence"]
        assert allowed == frozenset(TYPES)


def test_the_dentist_exclusions_outside_the_catalogue_are_recorded():
    row = MATRIX["professions"]["40"]
    assert {PSYCHIATRIC_SUMMARY, PSYCHOLOGICAL_ASSESSMENT} <= set(row["deny_types"])
    assert len(row["annex_denied_outside_catalogue"]) == 3


def test_a_profession_without_a_row_sees_no_class():
    assert matrix_row("91") is None and allowed_types("91") == frozenset()


@pytest.mark.parametrize("code", sorted(WORLD_SIDES))
def test_both_sides_of_the_row_in_the_record(code, world, main_client, run, settings):
    pid = world.patient.person_id
    pro = make_pro(main_client, run, settings, code, f"MATRICE{code}")
    r = world.patient.api.post(f"/api/profiles/{pid}/temporary-access", json={"minutes": 30})
    assert r.status_code == 201, r.text
    assert pro.api.post("/api/pro/temporary-access/redeem", json={"code": r.json()["code"]}).status_code == 200
    listed = pro.api.get(f"/api/pro/patients/{pid}/documents", params={"page_size": 100})
    assert listed.status_code == 200, listed.text
    seen = {d["title"] for d in listed.json()["items"]}
    shown, hidden = WORLD_SIDES[code]
    assert shown in seen
    if hidden is not None:
        assert hidden not in seen
    # Exactly the row: every world document of an allowed type, nothing else.
    allow = set(MATRIX["professions"][code]["allow_types"])
    assert seen == {title for type_code, title in WORLD.items() if type_code in allow}
