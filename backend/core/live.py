"""Live updates: a small publish/subscribe broker for Server-Sent Events streams.

A publisher names an audience key (``person:<uuid>``, ``structure:<uuid>``,
``professional:<uuid>``...) and a small JSON payload (ids and counts, never
health data); every stream subscribed to that key, in any server process,
receives the payload.

- SQLite (one process): subscribers live in this process's memory
  (:class:`Broker`).
- PostgreSQL (any number of processes): a publish is a ``NOTIFY`` on one
  channel (:data:`CHANNEL`); each process keeps one dedicated asyncpg
  connection that ``LISTEN``\\s on it while it has subscribers, and fans each
  notification out to this process's subscribers (:class:`PostgresBroker`).
  A process never delivers from its own memory on PostgreSQL: a message
  posted on one process reaches the streams of every process the same way.

Publishing happens after the data is committed, so a subscriber that reacts
to an event finds what it announces. Called inside a write transaction,
:func:`publish` waits for it: on PostgreSQL the ``NOTIFY`` is sent in that
transaction (PostgreSQL delivers it at commit, and drops it on rollback); on
SQLite the delivery waits until the single writer is released.

Delivery is best effort, as with any live channel: a stream that falls too
far behind, or that lost the listening connection for a while, is told to
resynchronise (``{"type": "resync"}``) and the client reloads what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from backend.core import database

CHANNEL = "carnet_live"
MAX_PAYLOAD_BYTES = 7000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
QUEUE_SIZE = 256  # events a slow stream may have pending before it is told to resynchronise
RECONNECT_DELAYS = (0.2, 0.5, 1, 2, 5, 10)  # seconds, then every 10 s while subscribers wait
RESYNC: dict[str, Any] = {"type": "resync"}

log = logging.getLogger("carnet.live")


class _Closed:
    """End of a subscription (the broker stopped, or the stream fell behind)."""


CLOSED = _Closed()


class Subscription:
    """One stream's view of the broker: the payloads published to any of its keys.

    Use it as an async context manager (it is attached on entry and detached
    on exit), then iterate, or call :meth:`next` with a timeout::

        async with live.subscribe({"person:..."}) as events:
            event = await events.next(timeout=15)   # None: nothing within 15 s
    """

    def __init__(self, broker: Broker, keys: set[str]) -> None:
        self.broker = broker
        self.keys = frozenset(keys)
        self._queue: asyncio.Queue[dict[str, Any] | _Closed] = asyncio.Queue(QUEUE_SIZE)
        self._attached = False
        self.closed = False

    def deliver(self, payload: dict[str, Any]) -> None:
        """Queue a payload (called by the broker, on the event loop)."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            # Too far behind: drop what is pending and ask the client to reload.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(RESYNC)

    def end(self) -> None:
        """End the subscription: the next :meth:`next` returns :data:`CLOSED`."""
        if not self.closed:
            self.closed = True
            while not self._queue.empty():  # what is pending no longer matters
                self._queue.get_nowait()
            self._queue.put_nowait(CLOSED)

    async def next(self, timeout: float | None = None) -> dict[str, Any] | _Closed | None:
        """The next payload, :data:`CLOSED` at the end, or ``None`` when ``timeout`` passed first."""
        if not self._attached:
            await self.attach()
        if self.closed and self._queue.empty():
            return CLOSED
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def attach(self) -> None:
        if not self._attached:
            self._attached = True
            await self.broker.attach(self)

    async def close(self) -> None:
        """Detach from the broker (idempotent)."""
        self.closed = True
        if self._attached:
            self._attached = False
            await self.broker.detach(self)

    async def __aenter__(self) -> Subscription:
        await self.attach()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                item = await self.next()
                if isinstance(item, _Closed) or item is None:
                    return
                yield item
        finally:
            await self.close()


def _encode(key: str, payload: dict[str, Any]) -> str:
    text = json.dumps({"k": key, "p": payload}, separators=(",", ":"), default=str)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError("live payload too large: publish ids and counts only")
    return text


class Broker:
    """The in-memory broker: one process (SQLite), subscribers in this process only."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    @property
    def subscriber_count(self) -> int:
        return len({s for subs in self._subscribers.values() for s in subs})

    async def start(self) -> None:
        """Nothing to open in memory."""

    async def stop(self) -> None:
        """End every subscription (their streams close)."""
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.end()
        self._subscribers.clear()

    def subscribe(self, keys: set[str]) -> Subscription:
        """A subscription to ``keys`` (attached when entered or first read)."""
        return Subscription(self, set(keys))

    async def attach(self, sub: Subscription) -> None:
        for key in sub.keys:
            self._subscribers.setdefault(key, set()).add(sub)

    async def detach(self, sub: Subscription) -> None:
        for key in sub.keys:
            subs = self._subscribers.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[key]

    def fan_out(self, key: str, payload: dict[str, Any]) -> None:
        """Deliver to this process's subscribers of ``key``."""
        for sub in list(self._subscribers.get(key, ())):
            sub.deliver(payload)

    def resync_all(self) -> None:
        for sub in {s for subs in self._subscribers.values() for s in subs}:
            sub.deliver(RESYNC)

    async def publish(self, key: str, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` to the subscribers of ``key``, once any write transaction is over."""
        _encode(key, payload)  # the same size rule as on PostgreSQL
        engine = database.get_engine()
        if engine.current_transaction.get() is not None and isinstance(engine, database.FastSQLiteEngine):
            asyncio.get_running_loop().create_task(self._after_writer(engine, key, payload))
            return
        self.fan_out(key, payload)

    async def _after_writer(self, engine: database.FastSQLiteEngine, key: str,
                            payload: dict[str, Any]) -> None:
        # The single writer's lock is held until its transaction commits or rolls back.
        async with engine.write_lock:
            pass
        self.fan_out(key, payload)


class PostgresBroker(Broker):
    """``NOTIFY`` to publish; one dedicated ``LISTEN`` connection per process while it has subscribers.

    The listening connection is opened with the first subscriber and closed
    with the last one (a process with no open stream holds no connection).
    When it is lost, it is opened again with growing delays, and every
    subscriber is told to resynchronise once it is back.

    Args:
        dsn: the PostgreSQL URL the listening connection opens.
    """

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._reconnect: asyncio.Task | None = None
        self._stopped = False

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        self._stopped = False

    async def stop(self) -> None:
        self._stopped = True
        await super().stop()
        async with self._lock:
            await self._close()

    async def attach(self, sub: Subscription) -> None:
        await super().attach(sub)
        async with self._lock:
            if not self.listening and not self._stopped:
                try:
                    await self._open()
                except Exception:  # retried in the background
                    log.warning("live: could not open the listening connection; retrying")
                    self._schedule_reconnect()

    async def detach(self, sub: Subscription) -> None:
        await super().detach(sub)
        if self.subscriber_count == 0:
            async with self._lock:
                if self.subscriber_count == 0:
                    await self._close()

    async def _open(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener(CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_lost)
        self._conn = conn

    async def _close(self) -> None:
        if self._reconnect is not None:
            self._reconnect.cancel()
            self._reconnect = None
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_lost)
            with contextlib.suppress(Exception):
                await conn.remove_listener(CHANNEL, self._on_notify)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, text: str) -> None:
        try:
            message = json.loads(text)
            key, payload = message["k"], message["p"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(key, str) and isinstance(payload, dict):
            self.fan_out(key, payload)

    def _on_lost(self, conn: Any) -> None:
        if conn is self._conn:
            self._conn = None
            if self.subscriber_count and not self._stopped:
                log.warning("live: listening connection lost; reconnecting")
                self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        attempt = 0
        while self.subscriber_count and not self._stopped and not self.listening:
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            attempt += 1
            async with self._lock:
                if self.listening or not self.subscriber_count or self._stopped:
                    break
                try:
                    await self._open()
                except Exception as exc:  # keep trying while someone listens
                    log.warning("live: reconnection failed (%s)", type(exc).__name__)
                    continue
            self.resync_all()  # what was published meanwhile was missed
        self._reconnect = None

    async def publish(self, key: str, payload: dict[str, Any]) -> None:
        """``NOTIFY`` on the shared channel: in the current transaction if any (delivered at commit)."""
        await database.fetch("SELECT pg_notify({}, {})", CHANNEL, _encode(key, payload))


_broker: Broker = Broker()


def broker() -> Broker:
    """The broker of this process (in memory until :func:`start` chose one)."""
    return _broker


async def start(database_url: str) -> Broker:
    """Choose and start the broker for this database (called with the application's start-up)."""
    global _broker
    await _broker.stop()
    is_postgres = database_url.startswith(("postgresql://", "postgres://"))
    _broker = PostgresBroker(database_url) if is_postgres else Broker()
    await _broker.start()
    return _broker


async def stop() -> None:
    """End every stream and close the listening connection (application shutdown)."""
    await _broker.stop()


async def publish(channel_key: str, payload: dict[str, Any]) -> None:
    """Announce ``payload`` (ids and counts only) to every stream subscribed to ``channel_key``.

    Never fails the caller: the data is already committed, a lost live event
    only delays what a client shows until its next reload.
    """
    try:
        await _broker.publish(channel_key, payload)
    except ValueError:
        raise
    except Exception as exc:  # a live update must not undo a committed write
        log.warning("live: publish failed (%s)", type(exc).__name__)


def subscribe(keys: set[str]) -> Subscription:
    """A subscription to the payloads published to any of ``keys`` (see :class:`Subscription`)."""
    return _broker.subscribe(keys)

