"""Browser: on a small phone no screen scrolls sideways, even with the text at 200 %, and every
control is a target of at least 44 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend import demo
from tests.browser.conftest import ui_login

WIDTHS = (320, 360, 390)
TEXT_SIZES = ("100%", "200%")
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)"""

# Controls less than 44 px high. A checkbox or radio counts with its label, a document's or a
# patient's link with its row (the link covers it).
SMALL_TARGETS = """() => [...document.querySelectorAll("a[href], button, input, select, textarea, summary")]
  .filter((e) => {
    const target = e.closest(".document-item, .patient-item")
      || (["checkbox", "radio"].includes(e.type) && e.labels && e.labels[0]) || e;
    const r = target.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden" && r.height < 44;
  })
  .map((e) => `${e.tagName.toLowerCase()}#${e.id} "${e.textContent.trim().slice(0, 30)}"`)"""

ACCOUNTS = {
    "citizen": (demo.CAMILLE, "camille", False, ["home", "card", "documents", "privacy", "privacy/temporary",
                                                 "privacy/care", "privacy/settings", "privacy/history",
                                                 "privacy/data", "delegations", "security"]),
    "caregiver": (demo.DOMINIQUE, "dominique", False, ["home", "card", "documents"]),
    "professional": (demo.GP_RPPS, "gp", True, ["pro", "patients", "security"]),
}


@pytest.mark.parametrize("account", ACCOUNTS)
def test_screens_fit_a_small_phone(page, account):
    identifier, secret, pro, screens = ACCOUNTS[account]
    page.goto("/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    assert page.evaluate(SMALL_TARGETS) == []
    for width in WIDTHS:  # logged out first
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
    ui_login(page, identifier, demo.TOTP_SECRETS[secret], pro=pro)
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Connexion")
    wide, small = [], []
    for screen in screens:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"/#/{screen}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("#main")).not_to_have_attribute("aria-busy", "true")
        small += [(screen, target) for target in page.evaluate(SMALL_TARGETS)]
        for size in TEXT_SIZES:
            page.evaluate(f"document.documentElement.style.fontSize = '{size}'")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                    wide.append((screen, width, size, page.evaluate(WIDER_THAN_THE_SCREEN)))
        page.evaluate("document.documentElement.style.fontSize = ''")
    assert wide == []
    assert small == []
