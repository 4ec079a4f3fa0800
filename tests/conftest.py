"""Test fixtures: one application per test session on SQLite, or PostgreSQL when asked.

``CARNET_TEST_DB=postgres`` (with ``CARNET_TEST_POSTGRES_URL``) runs the same
suite against PostgreSQL; ``./scripts/test`` does both when the URL is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def main_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        client.blocking_portal.call(database.migrate)
        client.blocking_portal.call(demo.seed, settings)
        yield client


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
