"""The event loop never waits on SQLite's write lock held by another process."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from backend.core import database
from tests.factories import activated_citizen

pytestmark = pytest.mark.sqlite  # SQLite's file lock; the PostgreSQL run deselects it


def test_reads_are_served_while_another_process_holds_the_write_lock(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    path = database.get_engine().path
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing: it holds the lock
    write_result: dict = {}

    def write() -> None:  # a write that must wait for the lock, off the loop
        r = citizen.api.post(f"/api/profiles/{citizen.person_id}/privacy",
                             json={"research_choice": "objection"})
        write_result["status"] = r.status_code

    writer = threading.Thread(target=write)
    try:
        writer.start()
        # While the lock is held and a write waits for it, reads still get answers.
        assert citizen.api.get("/health").status_code == 200
        assert citizen.api.get(f"/api/profiles/{citizen.person_id}/card").status_code == 200
        assert writer.is_alive(), "the write should still be waiting for the lock"
        held_while_reading = True
    finally:
        other.execute("COMMIT")  # release before the busy timeout
        other.close()
    writer.join(30)
    assert held_while_reading and write_result["status"] == 200
    choices = citizen.api.get(f"/api/profiles/{citizen.person_id}/research-choices").json()
    assert choices[0]["choice"] == "objection"
