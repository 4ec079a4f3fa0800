"""Read-only lookups of insured persons for other slices (they never query identity tables)."""

from __future__ import annotations

from uuid import UUID

from backend.core import database


async def by_nir(nir: str) -> dict | None:
    """The open record of a NIR with its strict identity traits, or ``None``."""
    rows = await database.fetch(
        "SELECT id, identity_status, birth_name, first_name, birth_date, sex, birthplace_code "
        "FROM insured_person WHERE nir = {} AND closed_at IS NULL", nir)
    return rows[0] if rows else None


async def summary(person_id: UUID) -> dict | None:
    """Id, first name, birth name, birth date and sex of a person, or ``None``."""
    rows = await database.fetch(
        "SELECT id, first_name, birth_name, birth_date, sex FROM insured_person WHERE id = {}", person_id)
    return rows[0] if rows else None


async def full_name(person_id: UUID) -> str:
    """"First name BIRTH NAME" of a person (empty when unknown)."""
    person = await summary(person_id)
    return f"{person['first_name']} {person['birth_name']}" if person else ""
