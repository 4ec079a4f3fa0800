"""Activation codes as the accounts slice redeems them (it never queries identity tables)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from backend.identity.tables import ActivationCode, InsuredPerson


async def find(code_hash: str) -> dict | None:
    """A code by its keyed hash, with what it is checked against, or ``None``.

    Keys: ``expires_at``, ``used_at``, ``person_id``, ``professional_id``, and the
    holder's ``nir``, ``birth_date`` and ``activated_at`` (a citizen) or ``rpps`` (a professional).
    """
    return await ActivationCode.select(
        ActivationCode.expires_at,
        ActivationCode.used_at,
        ActivationCode.person.as_alias("person_id"),
        ActivationCode.professional.as_alias("professional_id"),
        ActivationCode.person.nir.as_alias("nir"),
        ActivationCode.person.birth_date.as_alias("birth_date"),
        ActivationCode.person.activated_at.as_alias("activated_at"),
        ActivationCode.professional.rpps.as_alias("rpps"),
    ).where(ActivationCode.code_hash == code_hash).first()


async def complete(now: datetime, person_id: UUID | None = None, professional_id: UUID | None = None) -> None:
    """The first credential is registered: a citizen's space is active, and the holder's codes are spent."""
    if person_id is not None:
        await InsuredPerson.update({InsuredPerson.activated_at: now}).where(
            (InsuredPerson.id == person_id) & InsuredPerson.activated_at.is_null()
        )
        owner = ActivationCode.person == person_id
    else:
        owner = ActivationCode.professional == professional_id
    await ActivationCode.update({ActivationCode.used_at: now}).where(
        owner & ActivationCode.used_at.is_null()
    )
