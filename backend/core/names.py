"""Display names shared by several slices (access history labels, greetings, passkey user names)."""

from __future__ import annotations

from backend.core import database
from backend.core.auth import Actor


async def display_name(actor: Actor) -> str:
    """"First name LAST NAME" of the citizen or professional behind the actor."""
    if actor.person_id:
        rows = await database.fetch(
            "SELECT first_name, birth_name AS last_name FROM insured_person WHERE id = {}", actor.person_id)
    else:
        rows = await database.fetch(
            "SELECT first_name, last_name FROM professional WHERE id = {}", actor.professional_id)
    return f"{rows[0]['first_name']} {rows[0]['last_name']}"
