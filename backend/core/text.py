"""Text helpers shared by slices: accent- and case-insensitive folding, LIKE patterns."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents (``"MÉDECIN"`` → ``"medecin"``), for search columns and terms."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def like_contains(term: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern matching ``term`` anywhere, wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
