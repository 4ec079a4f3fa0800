"""The event loop never waits on SQLite's write lock held by another process."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from backend.core import database
from tests.factories import activated_citizen

pytestmark = pytest.mark.sqlite  # SQLite's file lock; the PostgreSQL run deselects it


def _wait_until(condition, what: str, limit: float = 10.0) -> None:
    """Poll ``condition`` (a liveness bound only: the assertions are about order)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def test_reads_are_served_while_another_process_holds_the_write_lock(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    engine = database.get_engine()
    other = sqlite3.connect(engine.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing: it holds SQLite's write lock
    events: list[str] = []
    statuses: dict[str, int] = {}

    def write() -> None:  # a write that has to wait for that lock
        r = citizen.api.post(f"/api/profiles/{citizen.person_id}/privacy",
                             json={"research_choice": "objection"})
        statuses["write"] = r.status_code
        events.append("write answered")

    writer = threading.Thread(target=write)
    released = False
    try:
        writer.start()
        # The write has taken the engine's writer and now sits in BEGIN IMMEDIATE.
        _wait_until(engine.write_lock.locked, "the write waiting for SQLite's lock")
        events.append("write waiting")
        statuses["health"] = citizen.api.get("/health").status_code
        events.append("health answered")
        statuses["card"] = citizen.api.get(f"/api/profiles/{citizen.person_id}/card").status_code
        events.append("card answered")
        other.execute("COMMIT")
        released = True
        events.append("lock released")
    finally:
        if not released:
            other.execute("ROLLBACK")
        other.close()
    writer.join(30)
    assert events == ["write waiting", "health answered", "card answered", "lock released", "write answered"]
    assert statuses == {"health": 200, "card": 200, "write": 200}
    choices = citizen.api.get(f"/api/profiles/{citizen.person_id}/research-choices").json()
    assert choices[0]["choice"] == "objection"


def test_a_hand_written_read_inside_a_transaction_sees_its_writes(run, settings):
    async def work() -> tuple[list[dict], list[dict]]:
        async with database.transaction():
            await database.execute("CREATE TEMP TABLE IF NOT EXISTS probe (x INTEGER)")
            await database.execute("INSERT INTO probe (x) VALUES ({})", 7)
            inside = await database.fetch("SELECT x FROM probe")
            await database.execute("DROP TABLE probe")
        return inside, await database.fetch("SELECT 1 AS one")

    inside, outside = run(work)
    assert inside == [{"x": 7}] and outside == [{"one": 1}]


def test_a_request_cancelled_while_waiting_for_the_lock_leaves_no_transaction_open(run, settings):
    engine = database.get_engine()
    other = sqlite3.connect(engine.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def start_then_cancel() -> bool:
        import asyncio

        async def write() -> None:
            async with database.transaction():
                await database.execute("SELECT 1")

        task = asyncio.create_task(write())
        while not engine.write_lock.locked():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # BEGIN IMMEDIATE is now waiting on the writer thread
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    try:
        assert run(start_then_cancel)
    finally:
        other.execute("COMMIT")
        other.close()
    # The abandoned BEGIN went through once the lock was free, and was rolled back:
    # the next transaction starts cleanly.
    run(database.execute, "SELECT 1")
    assert not engine.writer.in_transaction
