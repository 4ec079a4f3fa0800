"""NIR and INS validation (sex, year, month, département incl. Corsica, commune, order, key)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.core.errors import InvalidIdentifier

_NIR_RE = re.compile(r"^[1-478]\d{2}[0-9]{2}(?:\d{2}|2[AB])\d{6}\d{2}$")
IDENTITY_STATUSES = ("PROV", "RECUP", "VALI", "QUAL")


def _field_error(field: str, rule: str, fr: str, en: str) -> InvalidIdentifier:
    return InvalidIdentifier(fr, detail_en=en, errors=[{"field": field, "rule": rule, "message": fr,
                                                        "message_en": en}])


def nir_key(first13: str) -> int:
    """The NIR key: 97 − (N mod 97), with 2A→19 and 2B→18 for Corsica."""
    digits = first13.upper().replace("2A", "19").replace("2B", "18")
    return 97 - int(digits) % 97


def normalise_nir(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def validate_nir(value: str, field: str = "nir") -> str:
    """Return the normalised NIR or raise an error naming the field and the rule.

    Months 20–42 and 50+ are legitimate for particular births: the key is checked,
    not the calendar.
    """
    nir = normalise_nir(value)
    if len(nir) != 15:
        raise _field_error(
            field, "length",
            f"NIR invalide : 15 caractères attendus, {len(nir)} reçus.",
            f"Invalid NIR: 15 characters expected, got {len(nir)}.",
        )
    if not _NIR_RE.match(nir):
        raise _field_error(
            field, "format",
            "NIR invalide : format attendu sexe (1-4, 7, 8), année, mois, département "
            "(2A/2B pour la Corse), commune, ordre et clé.",
            "Invalid NIR: expected sex, year, month, département (2A/2B for Corsica), "
            "commune, order and key.",
        )
    expected, given = nir_key(nir[:13]), int(nir[13:])
    if expected != given:
        raise _field_error(
            field, "key",
            f"Clé NIR invalide : attendu {expected:02d}, reçu {given:02d}.",
            f"Invalid NIR key: expected {expected:02d}, got {given:02d}.",
        )
    return nir


def mask_nir(nir: str) -> str:
    """Show the sex and birth year and month only: ``2 84 05 •• ••• ••• ••``."""
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} •• ••• ••• ••"


def format_nir(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


@dataclass(frozen=True)
class Ins:
    """An INS: the NIR with the OID of the authority that issued it."""

    value: str
    oid: str
    usable: bool


def build_ins(nir: str, oid: str, identity_status: str) -> Ins:
    """The INS for a NIR; usable for exchanging data only when the identity is ``QUAL``."""
    return Ins(value=nir, oid=oid, usable=identity_status == "QUAL")


def require_usable_ins(identity_status: str) -> None:
    if identity_status != "QUAL":
        raise _field_error(
            "identity_status", "qualified",
            f"INS inutilisable : l'identité doit être qualifiée (QUAL), statut actuel {identity_status}.",
            f"INS not usable: the identity must be qualified (QUAL), current status {identity_status}.",
        )


def validate_identity_status(value: str, field: str = "identity_status") -> str:
    if value not in IDENTITY_STATUSES:
        raise _field_error(
            field, "enum",
            f"Statut d'identité inconnu : attendu PROV, RECUP, VALI ou QUAL, reçu « {value} ».",
            f"Unknown identity status: expected PROV, RECUP, VALI or QUAL, got '{value}'.",
        )
    return value
