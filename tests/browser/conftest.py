"""Browser fixtures: a real Carnet server on a free port and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CARNET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """A migrated, seeded Carnet served by uvicorn; its URL uses ``localhost`` for WebAuthn."""
    with tempfile.TemporaryDirectory(prefix="carnet-browser-") as tmp:
        port = _free_port()
        env = {**os.environ, "CARNET_DATA_DIR": tmp, "CARNET_PORT": str(port),
               "CARNET_PUBLIC_URL": f"http://localhost:{port}", "CARNET_LOG_LEVEL": "WARNING"}
        env.pop("CARNET_DATABASE_URL", None)
        for cmd in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "backend.cli", cmd], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://localhost:{port}"
        for _ in range(150):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise RuntimeError("Carnet did not start: " + proc.stderr.read().decode()[-2000:])
        yield url
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser, server):
    ctx = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                              locale="fr-FR", service_workers="allow")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def add_virtual_authenticator(context, page) -> str:
    """Chromium's virtual platform authenticator with user verification (a passkey)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
    return result["authenticatorId"]


def assert_accessible(page, context_label: str) -> None:
    """No serious or critical axe-core violation on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{context_label}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}" for v in bad)
