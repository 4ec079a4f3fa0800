"""The e-prescription number: 18 random characters of A-Z and 0-9, what the QR code encodes.

The number is the key a pharmacist opens a prescription with, so it must not be
guessable: each character is drawn by :mod:`secrets` (36^18, about 93 bits),
never from a counter, a date or the patient.
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_uppercase + string.digits
LENGTH = 18
GROUP = 6
_ALLOWED = frozenset(ALPHABET)
_SEPARATORS = str.maketrans("", "", " -\u00a0\u202f\t")


def new_number() -> str:
    """A fresh number: 18 characters drawn uniformly from A-Z and 0-9 by a cryptographic generator."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(value: str | None) -> str | None:
    """The number as stored, from what was typed or scanned, or ``None`` when it cannot be one.

    Spaces and hyphens are dropped and letters upper-cased (``"abcdef-123456 ghijkl"``
    → ``"ABCDEF123456GHIJKL"``); anything but exactly 18 characters of A-Z and 0-9 is refused.
    """
    if not isinstance(value, str):
        return None
    candidate = value.translate(_SEPARATORS)
    if not candidate.isascii():  # "ß".upper() is "SS": only ASCII is upper-cased
        return None
    candidate = candidate.upper()
    if len(candidate) != LENGTH or not _ALLOWED.issuperset(candidate):
        return None
    return candidate


def grouped(number: str) -> str:
    """The number in groups of 6 for the paper copy: ``"ABCDEF 123456 GHIJKL"``."""
    compact = normalise(number) or number
    return " ".join(compact[i:i + GROUP] for i in range(0, len(compact), GROUP))
