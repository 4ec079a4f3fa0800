"""Indexes: a covering one for the document list, and one for the duplicate check."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T03:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Document list and duplicate-check indexes"

INDEXES = {
    "document_listing": "CREATE INDEX document_listing ON document (person, status, care_date DESC, "
    "created_at DESC, patient_visible_after, hidden_from_guardians, masked, type_code, author_professional)",
    "document_content": "CREATE INDEX document_content ON document (person, sha256)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="documents", description=DESCRIPTION)

    async def create_index():
        from backend.core.database import get_engine

        for ddl in INDEXES.values():
            await get_engine().run_ddl(ddl)

    async def drop_index():
        from backend.core.database import get_engine

        for name in INDEXES:
            await get_engine().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
