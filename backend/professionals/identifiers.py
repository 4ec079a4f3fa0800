"""RPPS and FINESS validation (Luhn check digit on the whole number)."""

from __future__ import annotations

from backend.core.errors import InvalidIdentifier


def luhn_valid(digits: str) -> bool:
    """Luhn check over a digit string (the last digit is the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass Luhn."""
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("unreachable")


def _error(field: str, rule: str, fr: str, en: str) -> InvalidIdentifier:
    return InvalidIdentifier(fr, detail_en=en, errors=[{"field": field, "rule": rule, "message": fr,
                                                        "message_en": en}])


def validate_rpps(value: str, field: str = "rpps") -> str:
    """An RPPS number: 11 digits whose last digit is a Luhn check digit."""
    rpps = (value or "").replace(" ", "")
    if len(rpps) != 11 or not rpps.isdigit():
        raise _error(field, "format", f"RPPS invalide : 11 chiffres attendus, reçu « {rpps[:20]} ».",
                     f"Invalid RPPS: 11 digits expected, got '{rpps[:20]}'.")
    if not luhn_valid(rpps):
        expected = luhn_check_digit(rpps[:10])
        raise _error(field, "check-digit",
                     f"Chiffre de contrôle RPPS invalide : attendu {expected}, reçu {rpps[-1]}.",
                     f"Invalid RPPS check digit: expected {expected}, got {rpps[-1]}.")
    return rpps


def validate_finess(value: str, field: str = "finess") -> str:
    """A FINESS number: 9 characters whose last digit passes Luhn.

    The Luhn rule is empirical (it holds on published numbers). Corsican numbers
    start with ``2A``/``2B`` and no public convention says how to read those
    letters for the check, so for them only the format is checked.
    """
    finess = (value or "").replace(" ", "").upper()
    corsica = finess[:2] in ("2A", "2B")
    digits = finess[2:] if corsica else finess
    if len(finess) != 9 or not digits.isdigit():
        raise _error(field, "format", f"FINESS invalide : 9 caractères attendus, reçu « {finess[:20]} ».",
                     f"Invalid FINESS: 9 characters expected, got '{finess[:20]}'.")
    if not corsica and not luhn_valid(finess):
        expected = luhn_check_digit(finess[:8])
        raise _error(field, "check-digit",
                     f"Chiffre de contrôle FINESS invalide : attendu {expected}, reçu {finess[-1]}.",
                     f"Invalid FINESS check digit: expected {expected}, got {finess[-1]}.")
    return finess
