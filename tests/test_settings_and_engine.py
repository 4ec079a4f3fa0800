"""Settings, secrets, production refusals, and the SQLite engine's transaction discipline."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys

import pytest

from backend.core import database
from backend.core.settings import ConfigurationError, load_settings


def test_secrets_generated_once_with_0600(tmp_path):
    first = load_settings({"CARNET_DATA_DIR": str(tmp_path)})
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode)
    assert mode == 0o600
    again = load_settings({"CARNET_DATA_DIR": str(tmp_path)})
    assert again.secrets == first.secrets
    assert len(first.secrets.data_key) == 32


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(ConfigurationError):
        load_settings({"CARNET_DATA_DIR": str(tmp_path), "CARNET_ENV": "production"})
    assert not (tmp_path / "secrets.json").exists()
    env = {"CARNET_DATA_DIR": str(tmp_path), "CARNET_ENV": "production", "PATH": os.environ["PATH"]}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "serve"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "secrets" in out.stderr


def test_production_refuses_demo_data(tmp_path):
    from backend.core.settings import write_master_key

    data, key = tmp_path / "data", tmp_path / "master.key"
    write_master_key(key)
    load_settings({"CARNET_DATA_DIR": str(data), "CARNET_MASTER_KEY_FILE": str(key)})  # provision first
    env = {"CARNET_DATA_DIR": str(data), "CARNET_ENV": "production", "PATH": os.environ["PATH"],
           "CARNET_MASTER_KEY_FILE": str(key)}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "seed-demo"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "demo data is refused" in out.stderr
    prod = load_settings({"CARNET_DATA_DIR": str(data), "CARNET_ENV": "production",
                          "CARNET_MASTER_KEY_FILE": str(key)})
    assert prod.secure_cookies and prod.ins_oid == "1.2.250.1.213.1.4.8"


def test_sqlite_pragmas_wal_and_busy_timeout(tmp_path):
    engine = database.FastSQLiteEngine(path=str(tmp_path / "x.sqlite3"))
    assert engine.reader.execute("PRAGMA journal_mode").fetchone()["journal_mode"] == "wal"
    assert engine.reader.execute("PRAGMA busy_timeout").fetchone()["timeout"] == 5000
    # The writer never waits on the loop: only its own thread waits for another process's lock.
    assert engine.writer.execute("PRAGMA busy_timeout").fetchone()["timeout"] == 0
    assert engine.reader.execute("PRAGMA foreign_keys").fetchone()["foreign_keys"] == 1
    engine.close()


def test_concurrent_writers_never_share_a_transaction(tmp_path):
    """A failing transaction rolls back alone while another one commits beside it."""
    engine = database.FastSQLiteEngine(path=str(tmp_path / "tx.sqlite3"))

    async def scenario():
        await engine.run_ddl("CREATE TABLE t (v INTEGER)")
        started = asyncio.Event()

        async def failing():
            async with engine.transaction():
                await engine._run_in_existing_connection(engine.writer, "INSERT INTO t VALUES (1)")
                started.set()
                await asyncio.sleep(0.05)  # another request runs meanwhile
                raise RuntimeError("boom")

        async def succeeding():
            await started.wait()
            async with engine.transaction():
                await engine._run_in_existing_connection(engine.writer, "INSERT INTO t VALUES (2)")

        results = await asyncio.gather(failing(), succeeding(), return_exceptions=True)
        assert isinstance(results[0], RuntimeError) and results[1] is None
        return engine.reader.execute("SELECT v FROM t ORDER BY v").fetchall()

    rows = asyncio.run(scenario())
    assert rows == [{"v": 2}]
    engine.close()


def test_autocommit_write_outside_a_transaction_is_serialised(tmp_path):
    engine = database.FastSQLiteEngine(path=str(tmp_path / "w.sqlite3"))

    async def scenario():
        await engine.run_ddl("CREATE TABLE t (v INTEGER)")
        await asyncio.gather(*(engine._run_in_new_connection(f"INSERT INTO t VALUES ({i})")
                               for i in range(50)))
        return engine.reader.execute("SELECT count(*) AS n FROM t").fetchone()["n"]

    assert asyncio.run(scenario()) == 50
    engine.close()


def test_bad_database_url_is_refused():
    with pytest.raises(ValueError):
        database.build_engine("mysql://nope")


def test_several_server_processes_on_postgresql_only(tmp_path):
    base = {"CARNET_DATA_DIR": str(tmp_path)}
    assert load_settings(base).workers == 1  # SQLite: one process
    postgres = {**base, "CARNET_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/carnet"}
    assert load_settings(postgres).workers == (os.cpu_count() or 1)
    assert load_settings({**postgres, "CARNET_WORKERS": "3"}).workers == 3
    for bad in ("0", "-2", "deux"):
        with pytest.raises(ConfigurationError, match="CARNET_WORKERS"):
            load_settings({**base, "CARNET_WORKERS": bad})
    # SQLite has one writer and keeps live updates in one process: several processes are refused.
    env = {**base, "CARNET_WORKERS": "2", "PATH": os.environ["PATH"]}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "serve"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 2 and "CARNET_WORKERS > 1 needs PostgreSQL" in out.stderr
