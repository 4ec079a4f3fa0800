"""Shared msgspec base classes for request and response bodies."""

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are refused."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


class Next(Out):
    """What the client should do next (``enroll``, ``totp``, ``done``)."""

    next: str
