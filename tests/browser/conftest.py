"""Browser fixtures: a real Carnet server on a free port and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverutil import free_port, prepare, server_env, start

CHROMIUM = os.environ.get("CARNET_CHROMIUM", "/usr/bin/chromium")
DATA_DIRS: dict[str, str] = {}  # server URL -> its data directory (tests may inspect its database)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """A migrated, seeded Carnet served by uvicorn; its URL uses ``localhost`` for WebAuthn."""
    with tempfile.TemporaryDirectory(prefix="carnet-browser-") as tmp:
        env = server_env(tmp, free_port())
        prepare(env)
        proc, url = start(env)
        DATA_DIRS[url] = tmp
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


def ui_login(page, identifier: str, secret: str, *, pro: bool = False) -> None:
    """Log in through the login page with password + TOTP (each code step used once)."""
    from playwright.sync_api import expect

    from backend import demo
    from tests.factories import fresh_totp

    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    if pro:
        page.check("#pro-toggle")
    page.fill("#identifier", identifier)
    page.fill("#password", demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    page.fill("#totp-code", fresh_totp(secret))
    page.get_by_role("button", name="Valider").click()


def assert_accessible(page, context_label: str) -> None:
    """No serious or critical axe-core violation on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{context_label}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}" for v in bad)
