"""Messaging: threads, messages and attachments (texts and names sealed, files in the blob store).

Raw DDL with types both SQLite and PostgreSQL read the same way (UUID, TIMESTAMPTZ and INTEGER have
converters on SQLite). A thread's structure references the professionals slice's ``structure`` table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Message threads, messages and attachments"

DDL = (
    "CREATE TABLE message_thread ("
    "id UUID PRIMARY KEY NOT NULL, "
    "person UUID NOT NULL REFERENCES insured_person (id) ON DELETE CASCADE, "
    "structure UUID NULL REFERENCES structure (id), "
    "professional UUID NULL REFERENCES professional (id), "
    "counterpart_label VARCHAR(300) NOT NULL, "
    "subject TEXT NULL, "
    "started_by VARCHAR(10) NOT NULL CHECK (started_by IN ('citizen', 'pro')), "
    "started_by_account UUID NOT NULL, "
    "status VARCHAR(10) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')), "
    "last_seq INTEGER NOT NULL DEFAULT 0, "
    "citizen_read_seq INTEGER NOT NULL DEFAULT 0, "
    "citizen_read_at TIMESTAMPTZ NULL, "
    "pro_read_seq INTEGER NOT NULL DEFAULT 0, "
    "pro_read_at TIMESTAMPTZ NULL, "
    "closed_at TIMESTAMPTZ NULL, "
    "closed_by VARCHAR(300) NULL, "
    "created_at TIMESTAMPTZ NOT NULL, "
    "last_message_at TIMESTAMPTZ NOT NULL, "
    "CHECK (structure IS NOT NULL OR professional IS NOT NULL))",
    "CREATE INDEX message_thread_person ON message_thread (person, last_message_at)",
    "CREATE INDEX message_thread_structure ON message_thread (structure, last_message_at)",
    "CREATE INDEX message_thread_professional ON message_thread (professional, last_message_at)",
    "CREATE INDEX message_thread_starter ON message_thread (started_by_account, created_at)",
    "CREATE TABLE thread_message ("
    "id UUID PRIMARY KEY NOT NULL, "
    "thread UUID NOT NULL REFERENCES message_thread (id) ON DELETE CASCADE, "
    "seq INTEGER NOT NULL, "
    "side VARCHAR(10) NOT NULL CHECK (side IN ('citizen', 'pro')), "
    "author_account UUID NOT NULL, "
    "author_kind VARCHAR(12) NOT NULL, "
    "author_professional UUID NULL REFERENCES professional (id), "
    "author_label VARCHAR(300) NOT NULL, "
    "on_behalf_of VARCHAR(300) NULL, "
    "body TEXT NOT NULL, "
    "created_at TIMESTAMPTZ NOT NULL, "
    "UNIQUE (thread, seq))",
    "CREATE INDEX thread_message_author ON thread_message (author_account, created_at)",
    "CREATE INDEX thread_message_unread ON thread_message (thread, side, seq)",
    "CREATE TABLE message_attachment ("
    "id UUID PRIMARY KEY NOT NULL, "
    "message UUID NOT NULL REFERENCES thread_message (id) ON DELETE CASCADE, "
    "thread UUID NOT NULL REFERENCES message_thread (id) ON DELETE CASCADE, "
    "ordinal INTEGER NOT NULL, "
    "kind VARCHAR(12) NOT NULL CHECK (kind IN ('file', 'document', 'reference')), "
    "media_type VARCHAR(40) NULL, "
    "filename TEXT NULL, "
    "size INTEGER NULL, "
    "sha256 VARCHAR(64) NULL, "
    "blob_id VARCHAR(64) NULL UNIQUE, "
    "wrapped_key TEXT NULL, "
    "source_document UUID NULL, "
    "ref_kind VARCHAR(20) NULL, "
    "ref TEXT NULL, "
    "title TEXT NULL, "
    "created_at TIMESTAMPTZ NOT NULL)",
    "CREATE INDEX message_attachment_message ON message_attachment (message, ordinal)",
    "CREATE INDEX message_attachment_thread ON message_attachment (thread)",
)
UNDO = (
    "DROP TABLE message_attachment",
    "DROP TABLE thread_message",
    "DROP TABLE message_thread",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="messaging", description=DESCRIPTION)

    async def create():
        from backend.core.database import get_engine

        for ddl in DDL:
            await get_engine().run_ddl(ddl)

    async def drop():
        from backend.core.database import get_engine

        for ddl in UNDO:
            await get_engine().run_ddl(ddl)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
