"""At rest: the SQLite files are the owner's only, and the master key can live outside the data."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core.database import FastSQLiteEngine
from backend.core.settings import ConfigurationError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite
def test_a_new_database_and_its_wal_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        engine = FastSQLiteEngine(path=str(tmp_path / "data" / "carnet.sqlite3"))
        engine.writer.execute("CREATE TABLE t (x INTEGER)")
        engine.writer.execute("INSERT INTO t VALUES (1)")
        db = tmp_path / "data" / "carnet.sqlite3"
        assert mode(db) == 0o600
        assert mode(Path(f"{db}-wal")) == 0o600 and mode(Path(f"{db}-shm")) == 0o600
        assert mode(db.parent) == 0o700
        engine.close()
    finally:
        os.umask(old)


@pytest.mark.sqlite
def test_an_existing_world_readable_database_is_tightened(tmp_path):
    db = tmp_path / "carnet.sqlite3"
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    engine = FastSQLiteEngine(path=str(db))
    engine.reader.execute("SELECT 1")
    assert mode(db) == 0o600
    engine.close()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"CARNET_DATA_DIR": str(tmp_path / "data"), "CARNET_ENV": "development", **extra}


def test_the_master_key_can_come_from_a_file_outside_the_data(tmp_path):
    key = os.urandom(32)
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(key).decode())
    os.chmod(key_file, 0o600)
    settings = load_settings(_env(tmp_path, CARNET_MASTER_KEY_FILE=str(key_file)))
    assert settings.secrets.data_key == key
    assert "data_key" not in (tmp_path / "data" / "secrets.json").read_text()
    # The data directory alone is not enough any more.
    with pytest.raises(ConfigurationError, match="CARNET_MASTER_KEY_FILE"):
        load_settings(_env(tmp_path))


@pytest.mark.parametrize("problem, match", [
    ("group-readable", "owner only"), ("inside", "outside"), ("short", "32 bytes"), ("missing", "missing")])
def test_a_bad_master_key_file_is_refused_with_the_reason(tmp_path, problem, match):
    data = tmp_path / "data"
    data.mkdir()
    key_file = (data if problem == "inside" else tmp_path) / "master.key"
    if problem != "missing":
        key_file.write_text(base64.b64encode(os.urandom(16 if problem == "short" else 32)).decode())
        os.chmod(key_file, 0o640 if problem == "group-readable" else 0o600)
    with pytest.raises(ConfigurationError, match=match):
        load_settings(_env(tmp_path, CARNET_MASTER_KEY_FILE=str(key_file)))


def test_production_refuses_a_master_key_beside_the_data(tmp_path):
    load_settings(_env(tmp_path))  # development: secrets.json with its data_key
    with pytest.raises(ConfigurationError, match="outside the data directory"):
        load_settings(_env(tmp_path, CARNET_ENV="production"))


def test_secrets_init_writes_the_master_key_file_then_production_starts(tmp_path):
    key_file = tmp_path / "keys" / "master.key"
    key_file.parent.mkdir()
    env = {**os.environ, "CARNET_DATA_DIR": str(tmp_path / "data")}
    env.pop("CARNET_ENV", None)
    subprocess.run([sys.executable, "-m", "backend.cli", "secrets-init", "--master-key-file", str(key_file)],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    assert mode(key_file) == 0o600
    settings = load_settings(_env(tmp_path, CARNET_ENV="production", CARNET_MASTER_KEY_FILE=str(key_file)))
    assert settings.secrets.data_key == base64.b64decode(key_file.read_text())


def _secrets_init(tmp_path: Path, key_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CARNET_DATA_DIR": str(tmp_path / "data")}
    env.pop("CARNET_ENV", None)
    env.pop("CARNET_MASTER_KEY_FILE", None)
    env.pop("CARNET_MASTER_KEY", None)
    return subprocess.run([sys.executable, "-m", "backend.cli", "secrets-init", "--master-key-file",
                           str(key_file)], env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def test_secrets_init_moves_an_existing_master_key_out_and_keeps_the_data_readable(tmp_path):
    from backend.core.crypto import FieldCipher

    before = load_settings(_env(tmp_path))  # development: the key sits in secrets.json
    sealed = FieldCipher(before.secrets.data_key).encrypt("JBSWY3DPEHPK3PXP", "totp")
    key_file = tmp_path / "keys" / "master.key"
    out = _secrets_init(tmp_path, key_file)
    assert out.returncode == 0, out.stderr
    assert "moved" in out.stdout
    assert "data_key" not in (tmp_path / "data" / "secrets.json").read_text()
    assert mode(tmp_path / "data" / "secrets.json") == 0o600 and mode(key_file) == 0o600
    after = load_settings(_env(tmp_path, CARNET_ENV="production", CARNET_MASTER_KEY_FILE=str(key_file)))
    assert FieldCipher(after.secrets.data_key).decrypt(sealed, "totp") == "JBSWY3DPEHPK3PXP"
    # Run again: nothing changes.
    assert _secrets_init(tmp_path, key_file).returncode == 0
    assert load_settings(_env(tmp_path, CARNET_MASTER_KEY_FILE=str(key_file))).secrets.data_key == \
        before.secrets.data_key


def test_secrets_init_refuses_a_key_file_with_another_key_than_the_data_s(tmp_path):
    load_settings(_env(tmp_path))
    key_file = tmp_path / "other.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    os.chmod(key_file, 0o600)
    out = _secrets_init(tmp_path, key_file)
    assert out.returncode == 2 and "another master key" in out.stderr
    assert "data_key" in (tmp_path / "data" / "secrets.json").read_text()  # nothing was lost


def test_secrets_init_refuses_a_key_file_inside_the_data_directory(tmp_path):
    out = _secrets_init(tmp_path, tmp_path / "data" / "master.key")
    assert out.returncode == 2 and "outside" in out.stderr
    assert not (tmp_path / "data" / "master.key").exists()


def test_production_refuses_a_key_left_in_secrets_json_even_with_a_key_file(tmp_path):
    dev = load_settings(_env(tmp_path))
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(dev.secrets.data_key).decode())
    os.chmod(key_file, 0o400)
    with pytest.raises(ConfigurationError, match="still holds the master key"):
        load_settings(_env(tmp_path, CARNET_ENV="production", CARNET_MASTER_KEY_FILE=str(key_file)))
    # Development accepts the same key from both places, but never two different keys.
    assert load_settings(_env(tmp_path, CARNET_MASTER_KEY_FILE=str(key_file))).secrets.data_key == \
        dev.secrets.data_key
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ConfigurationError, match="differs"):
        load_settings(_env(tmp_path, CARNET_MASTER_KEY=other))


def test_the_master_key_can_come_from_a_variable(tmp_path):
    key = os.urandom(32)
    env = _env(tmp_path, CARNET_ENV="production", CARNET_MASTER_KEY=base64.b64encode(key).decode())
    load_settings({**env, "CARNET_ENV": "development"})  # provision the other secrets without a data_key
    assert load_settings(env).secrets.data_key == key
    with pytest.raises(ConfigurationError, match="base64"):
        load_settings({**env, "CARNET_MASTER_KEY": "not base64!"})


def test_an_existing_open_data_directory_is_tightened_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)  # noqa: S103 - the open directory an older version left
    load_settings(_env(tmp_path))
    assert mode(data) == 0o700 and mode(data / "secrets.json") == 0o600
