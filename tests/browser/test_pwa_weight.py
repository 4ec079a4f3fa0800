"""Browser: the first screens stay light for a phone. Layout shift, bytes on the wire and
console errors are read from the browser itself, so a regression fails here."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import ui_login

# Budgets with room above today's figures (about 0 layout shift and 60 kB on the wire
# for the logged-out first load), tight enough to catch an uncompressed or duplicated
# bundle or a screen that jumps.
MAX_LAYOUT_SHIFT = 0.1
MAX_FIRST_LOAD_BYTES = 120_000

OBSERVE_SHIFTS = """
window.__shift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""
TRANSFERRED = """() => {
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return entries.map((e) => ({ name: e.name, bytes: e.transferSize, encoded: e.encodedBodySize,
                               decoded: e.decodedBodySize }));
}"""


@pytest.fixture
def plain_context(browser, server):
    """No service worker: what the HTTP cache and the server do, on their own."""
    ctx = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                              locale="fr-FR", service_workers="block")
    ctx.add_init_script(OBSERVE_SHIFTS)
    yield ctx
    ctx.close()


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # late shifts (fonts, images) are reported after a frame


def test_a_logged_out_first_load_logs_no_error(context):
    page = context.new_page()  # service worker allowed: the real first visit
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    _settle(page)
    assert problems == [], problems  # e.g. no 401 from asking who is logged in


def test_a_logged_out_first_load_is_light_and_still(plain_context):
    page = plain_context.new_page()
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    _settle(page)
    assert page.evaluate("window.__shift") < MAX_LAYOUT_SHIFT
    entries = page.evaluate(TRANSFERRED)
    total = sum(e["bytes"] for e in entries)
    assert 0 < total < MAX_FIRST_LOAD_BYTES, sorted(entries, key=lambda e: -e["bytes"])[:5]
    # Text came compressed: every script and the stylesheet is smaller on the wire.
    texts = [e for e in entries if e["name"].split("?")[0].endswith((".js", ".css")) and e["decoded"] > 2000]
    assert texts and all(e["encoded"] < e["decoded"] * 0.6 for e in texts), texts


def test_a_second_visit_takes_the_versioned_assets_from_the_cache(plain_context):
    page = plain_context.new_page()
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    _settle(page)
    page.goto("about:blank")
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    _settle(page)
    entries = page.evaluate(TRANSFERRED)
    assets = [e for e in entries if "?v=" in e["name"]]
    assert assets, entries
    fetched = [e["name"] for e in assets if e["bytes"] > 0]
    assert fetched == [], fetched  # immutable: not even revalidated
    # The page itself is revalidated (no-cache): at most headers travel.
    [nav] = [e for e in entries if e["name"].endswith("/#/login") or e["name"].endswith("/")][:1]
    assert nav["bytes"] < 2000


@pytest.mark.parametrize("route, heading", [
    ("#/home", "Bonjour Camille"), ("#/card", "Ma carte"), ("#/documents", "Mes documents"),
])
def test_the_citizens_first_screens_do_not_jump(plain_context, route, heading):
    page = plain_context.new_page()
    ui_login(page, demo.CAMILLE, demo.TOTP_SECRETS["camille"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.evaluate("window.__shift = 0")
    page.goto("/" + route)
    page.reload()  # a first load of this screen, logged in
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    _settle(page)
    assert page.evaluate("window.__shift") < MAX_LAYOUT_SHIFT
