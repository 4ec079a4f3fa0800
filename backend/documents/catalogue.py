"""The document classes (LOINC codes) and the categories citizens see, from ``catalogue.json``."""

from __future__ import annotations

import json
from pathlib import Path

from backend.core.errors import Unprocessable

CATALOGUE = json.loads((Path(__file__).parent / "catalogue.json").read_text())
TYPES: dict[str, dict] = CATALOGUE["types"]
CATEGORIES: dict[str, dict] = CATALOGUE["categories"]
PATIENT_TYPE = "carnet:patient-document"


def check_type(type_code: str) -> dict:
    """The catalogue entry of a type code, or a 400 naming the unknown code."""
    if type_code not in TYPES:
        raise Unprocessable(
            f"Type de document inconnu : « {type_code[:40]} ». Utilisez un code du catalogue.",
            detail_en=f"Unknown document type '{type_code[:40]}'. Use a catalogue code.",
            errors=[{"field": "type_code", "rule": "catalogue", "message": "type inconnu",
                     "message_en": "unknown type"}],
        )
    return TYPES[type_code]
