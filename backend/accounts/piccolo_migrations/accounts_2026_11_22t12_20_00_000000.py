"""Re-authentication and safe credential changes: when a session last proved its owner,
a new password and TOTP secret kept pending until confirmed, and challenge expiry lookups."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T12:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Session proof time, pending credentials, challenge expiry index"

DDL = (
    "ALTER TABLE user_session ADD COLUMN authenticated_at TIMESTAMPTZ NULL",
    "ALTER TABLE account ADD COLUMN pending_password_hash VARCHAR(200) NULL",
    "ALTER TABLE account ADD COLUMN pending_totp_secret VARCHAR(200) NULL",
    "ALTER TABLE webauthn_challenge ADD COLUMN client VARCHAR(64) NULL",
    "CREATE INDEX webauthn_challenge_expiry ON webauthn_challenge (expires_at)",
    "CREATE INDEX webauthn_challenge_client ON webauthn_challenge (client, purpose)",
)
UNDO = (
    "DROP INDEX webauthn_challenge_client",
    "DROP INDEX webauthn_challenge_expiry",
    "ALTER TABLE webauthn_challenge DROP COLUMN client",
    "ALTER TABLE account DROP COLUMN pending_totp_secret",
    "ALTER TABLE account DROP COLUMN pending_password_hash",
    "ALTER TABLE user_session DROP COLUMN authenticated_at",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def apply():
        from backend.core.database import get_engine

        for ddl in DDL:
            await get_engine().run_ddl(ddl)

    async def undo():
        from backend.core.database import get_engine

        for ddl in UNDO:
            await get_engine().run_ddl(ddl)

    manager.add_raw(apply)
    manager.add_raw_backwards(undo)
    return manager
