"""Shared msgspec base classes for request and response bodies."""

from typing import Annotated

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are refused."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


class Next(Out):
    """What the client should do next (``enroll``, ``totp``, ``done``)."""

    next: str


# Identifier shapes, exactly as the server reads them: separators (spaces, dots,
# dashes for a NIR; spaces for RPPS and FINESS) are ignored, digits are ASCII.
# A body that breaks the shape is refused with 400; a well-shaped identifier
# whose check digit (NIR key, Luhn) does not add up is refused with 422.
_SEP = r"[\s.\-]*"
_NIR = rf"{_SEP}[1-478](?:{_SEP}[0-9]){{4}}{_SEP}(?:[0-9]{_SEP}[0-9]|2{_SEP}[ABab])(?:{_SEP}[0-9]){{8}}{_SEP}"
_RPPS = r" *(?:[0-9] *){11}"
NIR_PATTERN = f"^{_NIR}$"
RPPS_PATTERN = f"^{_RPPS}$"
FINESS_PATTERN = r"^ *(?:(?:[0-9] *){9}|2 *[ABab] *(?:[0-9] *){7})$"

Nir = Annotated[str, msgspec.Meta(max_length=40, pattern=NIR_PATTERN,
                                  description="NIR (or INS): 15 characters, separators allowed.",
                                  examples=["2 84 05 75 056 123 45"])]
Rpps = Annotated[str, msgspec.Meta(max_length=30, pattern=RPPS_PATTERN,
                                   description="RPPS number: 11 digits, the last a Luhn check digit.",
                                   examples=["10000000017"])]
NirOrRpps = Annotated[str, msgspec.Meta(max_length=40, pattern=f"^(?:{_NIR}|{_RPPS})$",
                                        description="A NIR (citizens) or an RPPS number (professionals).")]
Finess = Annotated[str, msgspec.Meta(max_length=20, pattern=FINESS_PATTERN,
                                     description="FINESS number: 9 characters (2A/2B for Corsica).")]
