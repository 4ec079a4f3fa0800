"""Events about a minor's secret are marked, so guardians never see them in the history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T12:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Access events hidden from guardians"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="access", description=DESCRIPTION)

    async def add():
        from backend.core.database import get_engine

        await get_engine().run_ddl(
            "ALTER TABLE access_event ADD COLUMN hidden_from_guardians BOOLEAN NOT NULL DEFAULT FALSE")

    async def drop():
        from backend.core.database import get_engine

        await get_engine().run_ddl("ALTER TABLE access_event DROP COLUMN hidden_from_guardians")

    manager.add_raw(add)
    manager.add_raw_backwards(drop)
    return manager
