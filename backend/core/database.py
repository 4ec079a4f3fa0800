"""Database engines: a fast SQLite engine (shared reader, single serialised writer) and PostgreSQL.

Piccolo's stock SQLite engine opens a connection per query. This engine keeps
one reader connection for autocommit reads (WAL lets them run beside a writer)
and one writer connection whose transactions are serialised by an asyncio lock
and opened with ``BEGIN IMMEDIATE``: concurrent requests never share a
transaction, and a write never waits on SQLite's lock inside another write.

The event loop never waits on SQLite's write lock. In WAL mode only one
statement can wait for a lock held by another process: ``BEGIN IMMEDIATE``,
which takes the write lock. The writer connection's busy timeout is 0, so on
the loop that ``BEGIN`` either succeeds at once or fails at once; when it fails,
it is retried on the engine's one writer thread, which waits up to the busy
timeout while the loop serves other requests. Once a transaction holds the
write lock, its statements and its ``COMMIT`` need no other lock (the automatic
checkpoint at commit is passive and never waits), so they run on the loop;
a stress run (8,400 transactions beside other processes reading, holding read
transactions and running ``wal_checkpoint(RESTART)`` and ``(TRUNCATE)``) saw
no busy error after ``BEGIN``. Running every writer statement on the thread
instead cost a third of the write throughput (each hop back to the loop
lengthens the time the single writer is held).

Reads stay on the loop: in WAL mode a reader works from a snapshot and never
takes or waits for the write lock, so it cannot stall behind another process.
Measured against another process holding ``BEGIN IMMEDIATE`` or ``BEGIN
EXCLUSIVE`` (both the same lock in WAL mode) over 200,000 uncommitted rows, and
against a ``wal_checkpoint(TRUNCATE)`` in progress, a read answers in a few
milliseconds. The only waits left for a reader are the brief WAL-index
recovery after a crashed writer, and a process that switches the database out
of WAL mode or into ``locking_mode=EXCLUSIVE``, which SQLite refuses while
this engine's connections are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
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


def _connect(path: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
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
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return conn


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


def _begin_waiting(conn: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE`` allowed to wait up to the busy timeout (on the writer thread only)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


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
            await self.engine.begin(self.connection)
        except BaseException:
            self.engine.end_abandoned_transaction()
            self.engine.write_lock.release()
            raise
        self._token = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if self._parent is not None:
            return False
        assert self.connection is not None and self._token is not None
        try:
            self.connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except BaseException:
            _rollback_if_open(self.connection)  # a failed COMMIT leaves nothing open
            raise
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
        self._thread_job: Future | None = None

    async def begin(self, conn: sqlite3.Connection) -> None:
        """Open the write transaction without the loop ever waiting for SQLite's lock.

        The writer connection's busy timeout is 0, so ``BEGIN IMMEDIATE`` on the
        loop either takes the lock at once (the usual case: this process's own
        writes are already serialised by :attr:`write_lock`) or fails at once
        because another process holds it; only then is it retried on the
        writer's own thread, which may wait up to the busy timeout. While a
        job of that thread is unfinished (a cancelled request's), the next
        ``BEGIN`` queues behind it on the same thread.
        """
        if self._thread_job is None or self._thread_job.done():
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
        await self.on_writer(_begin_waiting, conn)

    async def on_writer(self, fn, *args):
        """Run ``fn(*args)`` on the writer's own thread, off the loop."""
        if self._writer_thread is None:
            self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carnet-sqlite-writer")
        self._thread_job = self._writer_thread.submit(fn, *args)
        return await asyncio.wrap_future(self._thread_job)

    def end_abandoned_transaction(self) -> None:
        """After a failed or cancelled ``BEGIN``, make sure the writer is left with nothing open.

        When the ``BEGIN`` went to the writer thread it may still be running
        there: the rollback is queued behind it (the thread runs its jobs in
        order), and the next transaction's ``BEGIN`` queues behind the rollback.
        """
        if self._writer is None:
            return
        if self._thread_job is None or self._thread_job.done():
            _rollback_if_open(self._writer)
        elif self._writer_thread is not None:
            with contextlib.suppress(RuntimeError):  # the engine is closing: the connection goes too
                self._thread_job = self._writer_thread.submit(_rollback_if_open, self._writer)

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = _connect(self.path)
        return self._reader

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = _connect(self.path, busy_timeout_ms=0)
        return self._writer

    @property
    def write_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def close(self) -> None:
        """Close both connections (they reopen lazily), once the writer thread is done."""
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
            self._writer_thread = self._thread_job = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._reader = self._writer = None
        self._lock = None

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
            return self._execute(self.writer, query, args)

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        return self._execute(connection, query, args)

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
        conn = current.connection if current is not None else engine.reader
        return engine._execute(conn, _compile(sql, "sqlite"), list(args))
    compiled = _compile(sql, "postgres")
    if current is not None:
        return [dict(r) for r in await current.connection.fetch(compiled, *args)]
    async with engine.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(compiled, *args)]


async def lock(key: str) -> None:
    """Serialise the current write transaction with every other one that locks ``key``, in any process.

    On PostgreSQL a transaction-scoped advisory lock (released at commit or rollback); on
    SQLite nothing to do: a write transaction already holds the single writer.
    """
    if dialect() == "postgres":
        await fetch("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", key)


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
