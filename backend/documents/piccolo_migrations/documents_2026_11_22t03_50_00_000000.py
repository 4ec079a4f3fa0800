"""A covering index for the document list: page and count without touching the rows."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T03:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Covering index for listing a person's documents"

INDEX = (
    "CREATE INDEX document_listing ON document (person, status, care_date DESC, created_at DESC, "
    "patient_visible_after, hidden_from_guardians, masked, type_code, author_professional)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="documents", description=DESCRIPTION)

    async def create_index():
        from backend.core.database import get_engine

        await get_engine().run_ddl(INDEX)

    async def drop_index():
        from backend.core.database import get_engine

        await get_engine().run_ddl("DROP INDEX document_listing")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
