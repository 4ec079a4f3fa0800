"""Insured persons as other slices see them: they call these and never query identity tables."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from backend.core import database
from backend.identity.tables import Guardianship, InsuredPerson


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


# --- for the access rules and preferences -------------------------------------------


async def is_guardian(parent_id: UUID, child_id: UUID) -> bool:
    """Whether ``parent_id`` is a legal representative of ``child_id``."""
    return await Guardianship.exists().where(
        (Guardianship.parent == parent_id) & (Guardianship.child == child_id)
    )


async def guardians(child_id: UUID) -> list[UUID]:
    """The legal representatives of a child."""
    rows = await Guardianship.select(Guardianship.parent).where(Guardianship.child == child_id)
    return [r["parent"] for r in rows]


_PROFILE = (InsuredPerson.id, InsuredPerson.first_name, InsuredPerson.birth_name, InsuredPerson.used_name,
            InsuredPerson.birth_date)


async def profile(person_id: UUID) -> dict | None:
    """Id, first name, birth and used names, birth date: what a profile switcher shows."""
    return await InsuredPerson.select(*_PROFILE).where(InsuredPerson.id == person_id).first()


async def profiles(person_ids: list[UUID]) -> list[dict]:
    """:func:`profile` of each person (no order)."""
    return await InsuredPerson.select(*_PROFILE).where(InsuredPerson.id.is_in(person_ids))


async def children_profiles(parent_id: UUID) -> list[dict]:
    """:func:`profile` of each child of a parent, by birth date."""
    children = await Guardianship.select(Guardianship.child).where(Guardianship.parent == parent_id)
    if not children:
        return []
    return await InsuredPerson.select(*_PROFILE).where(
        InsuredPerson.id.is_in([c["child"] for c in children])
    ).order_by(InsuredPerson.birth_date)


async def patient(person_id: UUID) -> dict | None:
    """Id, first name, birth name and birth date of a person, or ``None``."""
    return await InsuredPerson.select(InsuredPerson.id, InsuredPerson.first_name, InsuredPerson.birth_name,
                                      InsuredPerson.birth_date).where(InsuredPerson.id == person_id).first()


async def emergency_traits(person_id: UUID) -> dict | None:
    """``emergency_access_opposed`` and ``first_name`` of a person, or ``None``."""
    return await InsuredPerson.select(InsuredPerson.emergency_access_opposed, InsuredPerson.first_name).where(
        InsuredPerson.id == person_id).first()


async def set_emergency_opposition(person_id: UUID, opposed: bool) -> None:
    """Record the person's opposition (or not) to emergency access (in the caller's transaction if any)."""
    await InsuredPerson.update({InsuredPerson.emergency_access_opposed: opposed}).where(
        InsuredPerson.id == person_id)


# --- for portability -----------------------------------------------------------------


async def record(person_id: UUID) -> dict | None:
    """Every column of a person's row, or ``None``."""
    return await InsuredPerson.select().where(InsuredPerson.id == person_id).first()


async def close(person_id: UUID, closed_at: datetime) -> None:
    """Mark the person's space closed (in the caller's transaction if any)."""
    await InsuredPerson.update({InsuredPerson.closed_at: closed_at}).where(InsuredPerson.id == person_id)
