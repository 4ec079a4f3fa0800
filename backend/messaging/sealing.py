"""Field encryption of what a message says: texts, subjects, attachment names, references.

The same AES-256-GCM field encryption as the TOTP secrets (``core.crypto.FieldCipher``,
master key), each value bound to its row and column by the associated data, so
a sealed text copied onto another row does not open.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

from backend.core.crypto import FieldCipher
from backend.core.settings import Settings


@lru_cache(maxsize=4)
def _cipher(key: bytes) -> FieldCipher:
    return FieldCipher(key)


def _context(table: str, row_id: UUID, column: str) -> str:
    return f"carnet/messaging/{table}/{row_id}/{column}"


def seal(settings: Settings, table: str, row_id: UUID, column: str, value: str | None) -> str | None:
    """``value`` encrypted for one row's column (``None`` stays ``None``)."""
    if value is None:
        return None
    return _cipher(settings.secrets.data_key).encrypt(value, _context(table, row_id, column))


def unseal(settings: Settings, table: str, row_id: UUID, column: str, token: str | None) -> str | None:
    """The clear value of a sealed column (``None`` stays ``None``)."""
    if token is None:
        return None
    return _cipher(settings.secrets.data_key).decrypt(token, _context(table, row_id, column))
