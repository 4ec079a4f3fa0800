"""Indexes that keep audit appends constant-time as a person's history grows."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T04:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Access history indexes: chain head per person, first access per actor"

INDEXES = {
    "access_event_chain": "CREATE INDEX access_event_chain ON access_event (person, id)",
    "access_event_actor": "CREATE INDEX access_event_actor ON access_event (person, actor_id, outcome)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="access", description=DESCRIPTION)

    async def create():
        from backend.core.database import get_engine

        for ddl in INDEXES.values():
            await get_engine().run_ddl(ddl)

    async def drop():
        from backend.core.database import get_engine

        for name in INDEXES:
            await get_engine().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
