"""Database engines: a fast SQLite engine (shared reader, single serialised writer) and PostgreSQL.

Piccolo's stock SQLite engine opens a connection per query. This engine keeps
one reader connection for autocommit reads (WAL lets them run beside a writer)
and one writer connection whose transactions are serialised by an asyncio lock
and opened with ``BEGIN IMMEDIATE``: concurrent requests never share a
transaction, and a write never waits on SQLite's lock inside another write.

The event loop never waits on SQLite's write lock: every statement on the
writer connection (``BEGIN IMMEDIATE`` included, which waits up to the busy
timeout when another process holds the lock) runs on one dedicated thread.
Reads stay on the loop: in WAL mode a reader works from a snapshot and never
takes or waits for the write lock, so it cannot stall behind another process.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

BUSY_TIMEOUT_MS = 5000
_READ_PREFIXES = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")


SQLITE_FILE_MODE = 0o600


def secure_files(path: str) -> None:
    """The database and its WAL and shared-memory files are readable by their owner only.

    A new database file is created 0600 before SQLite opens it (SQLite gives the
    WAL and shm files the database file's mode); existing files are tightened.
    """
    db = Path(path)
    if not db.exists():
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT, SQLITE_FILE_MODE))
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            os.chmod(candidate, SQLITE_FILE_MODE)


def _connect(path: str) -> sqlite3.Connection:
    secure_files(path)
    conn = sqlite3.connect(
        path,
        detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.row_factory = dict_factory
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class _WriteTransaction:
    """A ``BEGIN IMMEDIATE`` transaction on the engine's single writer connection."""

    def __init__(self, engine: FastSQLiteEngine) -> None:
        self.engine = engine
        self._parent = engine.current_transaction.get()
        self.connection: sqlite3.Connection | None = None
        self._token: contextvars.Token | None = None

    async def __aenter__(self) -> _WriteTransaction:
        if self._parent is not None:
            return self._parent
        await self.engine.write_lock.acquire()
        try:
            self.connection = self.engine.writer
            await self.engine.on_writer(self.connection.execute, "BEGIN IMMEDIATE")
        except BaseException:
            self.engine.write_lock.release()
            raise
        self._token = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if self._parent is not None:
            return False
        assert self.connection is not None and self._token is not None
        try:
            await self.engine.on_writer(self.connection.execute, "COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.engine.current_transaction.reset(self._token)
            self.engine.write_lock.release()
        return False


class FastSQLiteEngine(SQLiteEngine):
    """SQLite engine with a shared reader connection and one serialised writer."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._writer_thread: ThreadPoolExecutor | None = None

    async def on_writer(self, fn, *args):
        """Run ``fn(*args)`` on the writer's own thread, so the loop never waits on SQLite's lock."""
        if self._writer_thread is None:
            self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carnet-sqlite-writer")
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, fn, *args)

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = _connect(self.path)
        return self._reader

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = _connect(self.path)
        return self._writer

    @property
    def write_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def close(self) -> None:
        """Close both connections (they reopen lazily)."""
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._reader = self._writer = None
        self._lock = None
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
            self._writer_thread = None

    @staticmethod
    def _execute(conn: sqlite3.Connection, query: str, args: list | None) -> list[dict]:
        cursor = conn.execute(query, args or [])
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query.lstrip()[:7].upper().startswith(_READ_PREFIXES):
            return self._execute(self.reader, query, args)
        async with self.transaction():
            return await self.on_writer(self._execute, self.writer, query, args)

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        return await self.on_writer(self._execute, connection, query, args)

    def transaction(self, *args: Any, **kwargs: Any) -> _WriteTransaction:  # type: ignore[override]
        return _WriteTransaction(self)


_engine: Engine | None = None


def build_engine(database_url: str) -> Engine:
    """Create the engine for a ``sqlite:///path`` or ``postgresql://`` URL."""
    if database_url.startswith("sqlite:///"):
        return FastSQLiteEngine(path=database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": database_url})
    raise ValueError("CARNET_DATABASE_URL must start with sqlite:/// or postgresql://")


def configure_engine(database_url: str) -> Engine:
    """Make the engine for ``database_url`` the one every table uses."""
    global _engine
    from backend.piccolo_conf import APP_REGISTRY

    _engine = build_engine(database_url)
    for app_config in APP_REGISTRY.app_configs.values():
        for table in app_config.table_classes:
            table._meta.db = _engine
    from piccolo.apps.migrations.tables import Migration

    Migration._meta.db = _engine
    return _engine


def get_engine() -> Engine:
    """The configured engine (configured from the environment on first use)."""
    if _engine is None:
        from backend.core.settings import load_settings

        return configure_engine(load_settings().database_url)
    return _engine


_COMPILED: dict[tuple[str, str], str] = {}


def _compile(sql: str, engine_type: str) -> str:
    """Turn ``{}`` placeholders into the driver's (``?`` or ``$n``), once per statement."""
    key = (sql, engine_type)
    compiled = _COMPILED.get(key)
    if compiled is None:
        parts = sql.split("{}")
        if engine_type == "sqlite":
            compiled = "?".join(parts)
        else:
            compiled = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        _COMPILED[key] = compiled
    return compiled


def dialect() -> str:
    """``sqlite`` or ``postgres``: for the few statements that must differ."""
    return "sqlite" if isinstance(get_engine(), FastSQLiteEngine) else "postgres"


async def fetch(sql: str, *args: Any) -> list[dict]:
    """Run a hand-written read with ``{}`` placeholders, skipping query building.

    For the hottest reads (the session lookup, the card): building a Piccolo
    query costs more than running it. Runs inside the current transaction when
    there is one, so it sees that transaction's writes.
    """
    engine = get_engine()
    current = engine.current_transaction.get()
    if isinstance(engine, FastSQLiteEngine):
        if current is not None:
            compiled = _compile(sql, "sqlite")
            return await engine.on_writer(engine._execute, current.connection, compiled, list(args))
        return engine._execute(engine.reader, _compile(sql, "sqlite"), list(args))
    compiled = _compile(sql, "postgres")
    if current is not None:
        return [dict(r) for r in await current.connection.fetch(compiled, *args)]
    async with engine.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(compiled, *args)]


async def execute(sql: str, *args: Any) -> list[dict]:
    """Run a hand-written write (``{}`` placeholders) in the current or a new write transaction."""
    async with get_engine().transaction():
        return await fetch(sql, *args)


def transaction():
    """A short write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    return get_engine().transaction()


async def start(engine: Engine) -> None:
    """Open pools and connections at application start-up."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)
    else:
        await engine.run_ddl("SELECT 1")


async def stop(engine: Engine) -> None:
    """Close pools and connections at shutdown."""
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, FastSQLiteEngine):
        engine.close()


async def migrate() -> None:
    """Apply every pending migration of every slice."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
