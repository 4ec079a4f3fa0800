"""Test fixtures: one application per test session on SQLite, or PostgreSQL when asked.

``CARNET_TEST_DB=postgres`` (with ``CARNET_TEST_POSTGRES_URL``) runs the same
suite against PostgreSQL; ``./scripts/test`` does both when the URL is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient

from backend import demo
from backend.app import CSRF_COOKIE, CSRF_HEADER, create_app
from backend.core import database
from backend.core.settings import Settings, load_settings

BACKEND = os.environ.get("CARNET_TEST_DB", "sqlite")
logging.getLogger("httpx").setLevel(logging.WARNING)
PUBLIC_URL = "http://localhost:8000"


def pytest_report_header(config):
    return f"carnet database backend: {BACKEND}"


async def reset_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def database_url(data_dir: Path) -> str:
    if BACKEND == "postgres":
        url = os.environ.get("CARNET_TEST_POSTGRES_URL")
        if not url:
            raise pytest.UsageError("CARNET_TEST_DB=postgres needs CARNET_TEST_POSTGRES_URL")
        asyncio.run(reset_postgres(url))
        return url
    return f"sqlite:///{data_dir / 'carnet.sqlite3'}"


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="carnet-test-") as tmp:
        data_dir = Path(tmp)
        env = {
            "CARNET_DATA_DIR": str(data_dir),
            "CARNET_DATABASE_URL": database_url(data_dir),
            "CARNET_PUBLIC_URL": PUBLIC_URL,
            "CARNET_ENV": "test",
        }
        yield load_settings(env)


class Snapshots:
    """Whole-database snapshots, so that every test starts from a known world.

    SQLite: the online backup API copies the database into a file and back into
    the engine's writer connection (milliseconds); the blob directory is copied
    beside it. PostgreSQL: a snapshot is a database created from the test
    database as a template, and a restore recreates the test database from it.
    """

    def __init__(self, client: TestClient, settings: Settings, folder: Path) -> None:
        self.client, self.settings, self.folder = client, settings, folder
        self.taken: dict[str, object] = {}

    def _blobs(self, name: str) -> Path:
        return self.folder / f"{name}-blobs"

    def take(self, name: str, value: object = None) -> None:
        if BACKEND == "postgres":
            self.client.blocking_portal.call(self._pg_copy, _db_name(), f"{_db_name()}_snap_{name}")
        else:
            with sqlite3.connect(self.folder / f"{name}.sqlite3") as target:
                database.get_engine().writer.backup(target)
        shutil.rmtree(self._blobs(name), ignore_errors=True)
        if self.settings.blob_dir.exists():
            shutil.copytree(self.settings.blob_dir, self._blobs(name))
        self.taken[name] = value

    def restore(self, name: str) -> object:
        if BACKEND == "postgres":
            self.client.blocking_portal.call(self._pg_copy, f"{_db_name()}_snap_{name}", _db_name())
        else:
            source = sqlite3.connect(self.folder / f"{name}.sqlite3")
            try:
                source.backup(database.get_engine().writer)
            finally:
                source.close()
        shutil.rmtree(self.settings.blob_dir, ignore_errors=True)
        if self._blobs(name).exists():
            shutil.copytree(self._blobs(name), self.settings.blob_dir)
        return self.taken[name]

    async def _pg_copy(self, source: str, target: str) -> None:
        import asyncpg

        engine = database.get_engine()
        await database.stop(engine)
        admin = await asyncpg.connect(_admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        finally:
            await admin.close()
        await database.start(engine)


def _db_name() -> str:
    return urlsplit(os.environ["CARNET_TEST_POSTGRES_URL"]).path.lstrip("/")


def _admin_url() -> str:
    return urlunsplit(urlsplit(os.environ["CARNET_TEST_POSTGRES_URL"])._replace(path="/postgres"))


@pytest.fixture(scope="session")
def main_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        client.blocking_portal.call(database.migrate)
        client.blocking_portal.call(demo.seed, settings)
        yield client


@pytest.fixture(scope="session")
def snapshots(main_client: TestClient, settings: Settings) -> Iterator[Snapshots]:
    with tempfile.TemporaryDirectory(prefix="carnet-snapshots-") as tmp:
        shots = Snapshots(main_client, settings, Path(tmp))
        shots.take("demo")
        yield shots


SNAPSHOT_FIXTURES = {"world", "demo_apis", "matrix_world"}  # fixtures that restore a world of their own


@pytest.fixture(autouse=True)
def fresh_world(request, snapshots: Snapshots) -> None:
    """Every test starts from the demo world (or from the bigger world it asks for)."""
    if not SNAPSHOT_FIXTURES & set(request.fixturenames):
        snapshots.restore("demo")


@pytest.fixture
def world(snapshots: Snapshots, main_client: TestClient, settings: Settings):
    """The record world of tests/docworld.py, built once, restored before each test that uses it."""
    if "docworld" not in snapshots.taken:
        from tests.docworld import build_world

        snapshots.restore("demo")
        built = build_world(main_client, lambda fn, *a, **kw: main_client.blocking_portal.call(
            lambda: fn(*a, **kw)), settings)
        snapshots.take("docworld", built)
    return snapshots.restore("docworld")


@pytest.fixture
def demo_apis(snapshots: Snapshots, main_client: TestClient):
    """The demo accounts logged in, restored before each test that uses them."""
    if "demo_apis" not in snapshots.taken:
        from tests.factories import login_demo

        snapshots.restore("demo")
        apis = {who: login_demo(lambda lang="fr": Api(main_client, lang), who)
                for who in ("camille", "dominique", "pharmacist", "gp")}
        snapshots.take("demo_apis", apis)
    return snapshots.restore("demo_apis")


class Api:
    """A browser-like client: its own cookie jar, CSRF header handled, sharing the app's loop."""

    def __init__(self, main: TestClient, lang: str = "fr") -> None:
        self.http = TestClient(main.app, base_url=PUBLIC_URL)
        self.http.blocking_portal = main.blocking_portal
        self.http.headers["accept-language"] = lang
        self.http.get("/health")
        self.http.headers[CSRF_HEADER] = self.http.cookies.get(CSRF_COOKIE)

    def __getattr__(self, name: str):
        return getattr(self.http, name)


@pytest.fixture
def make_api(main_client: TestClient) -> Callable[..., Api]:
    return lambda lang="fr": Api(main_client, lang)


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


@pytest.fixture
def run(main_client: TestClient) -> Callable:
    """Run a coroutine function on the application's event loop."""
    return lambda fn, *args, **kw: main_client.blocking_portal.call(lambda: fn(*args, **kw))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Browser tests run last, after the random shuffle: Playwright's sync API keeps an event loop
    running in this thread."""
    items.sort(key=lambda item: "/browser/" in str(item.fspath))
