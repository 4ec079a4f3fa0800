"""Structures (FINESS) get their own table: kind, address, opening hours, a folded search text.

Professionals stay linked to theirs by the ``finess`` column they already have.
Every FINESS already named by a professional gets its structure (a practice
named after the professional's ``structure_name``, with an empty address), so
that every professional has one.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Structure table (FINESS), filled from the professionals' structures"

DDL = (
    "CREATE TABLE structure ("
    "id UUID PRIMARY KEY NOT NULL, "
    "finess VARCHAR(9) UNIQUE NOT NULL, "
    "kind VARCHAR(10) NOT NULL DEFAULT 'practice' "
    "CHECK (kind IN ('pharmacy', 'practice', 'hospital', 'imaging')), "
    "name VARCHAR(200) NOT NULL DEFAULT '', "
    "address VARCHAR(200) NOT NULL DEFAULT '', "
    "postcode VARCHAR(5) NOT NULL DEFAULT '', "
    "commune VARCHAR(100) NOT NULL DEFAULT '', "
    "opening_hours VARCHAR(200) NULL, "
    "search_text TEXT NOT NULL DEFAULT '', "
    "created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE INDEX structure_kind ON structure (kind)",
    "CREATE INDEX professional_finess ON professional (finess)",
)
UNDO = (
    "DROP INDEX professional_finess",
    "DROP TABLE structure",
)


async def fill_missing_structures() -> int:
    """A structure for every FINESS a professional names and the table does not hold yet: a practice
    named after the professional's ``structure_name`` (the most recently updated one's), with an
    empty address. Returns how many were created."""
    import uuid

    from backend.core import database
    from backend.core.auth import utcnow
    from backend.professionals.directory import structure_search_text

    rows = await database.fetch(
        "SELECT finess, structure_name FROM professional "
        "WHERE finess NOT IN (SELECT finess FROM structure) ORDER BY finess, updated_at DESC, id")
    named: dict[str, str] = {}
    for row in rows:
        named.setdefault(row["finess"], row["structure_name"])
    now = utcnow()
    for finess, name in named.items():
        await database.execute(
            "INSERT INTO structure (id, finess, kind, name, address, postcode, commune, opening_hours, "
            "search_text, created_at, updated_at) VALUES ({}, {}, 'practice', {}, '', '', '', NULL, {}, {}, {})",
            uuid.uuid4(), finess, name, structure_search_text(name, "", ""), now, now)
    return len(named)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="professionals", description=DESCRIPTION)

    async def create_and_fill():
        from backend.core.database import get_engine

        for ddl in DDL:
            await get_engine().run_ddl(ddl)
        await fill_missing_structures()

    async def drop():
        from backend.core.database import get_engine

        for ddl in UNDO:
            await get_engine().run_ddl(ddl)

    manager.add_raw(create_and_fill)
    manager.add_raw_backwards(drop)
    return manager
