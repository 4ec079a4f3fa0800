"""Author search without accents or case, on SQLite as on PostgreSQL: a folded copy of the author."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Folded author for accent-insensitive search"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="documents", description=DESCRIPTION)

    async def add_and_fill():
        from backend.core import database
        from backend.core.text import fold

        await database.get_engine().run_ddl(
            "ALTER TABLE document ADD COLUMN author_search VARCHAR(200) NOT NULL DEFAULT ''")
        for row in await database.fetch("SELECT DISTINCT author_label FROM document"):
            await database.execute("UPDATE document SET author_search = {} WHERE author_label = {}",
                                   fold(row["author_label"]), row["author_label"])

    async def drop():
        from backend.core.database import get_engine

        await get_engine().run_ddl("ALTER TABLE document DROP COLUMN author_search")

    manager.add_raw(add_and_fill)
    manager.add_raw_backwards(drop)
    return manager
