"""Lighthouse scores of the first screens, logged out (login) and as the demo citizen.

Run through scripts/bench/lighthouse.sh, which installs Lighthouse. One headless
chromium is shared by Lighthouse and by Playwright (which logs in once); before
each run the HTTP cache, the service worker and its cache are cleared, the session
cookie is kept: every run is a first load of the screen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import carnet_env, free_port, prepare, temp_dir  # noqa: E402

from backend import demo  # noqa: E402
from tests.serverutil import start  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CARNET_CHROMIUM", "/usr/bin/chromium")
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
METRICS = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
           "cumulative-layout-shift", "speed-index"]
SCREENS = [("login", "/#/login", False), ("home", "/#/home", True), ("card", "/#/card", True),
           ("documents", "/#/documents", True)]


def start_carnet(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**carnet_env(data_dir, port, None), "CARNET_PUBLIC_URL": f"http://localhost:{port}"}
    env.pop("CARNET_DATABASE_URL", None)
    prepare(env)
    return start(env)


def start_chromium(profile: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                             "--no-first-run", "--disable-background-networking", "--disable-sync",
                             "--disable-component-update", f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"{CHROMIUM} did not start")


def login(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/#/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.fill("#identifier", demo.CAMILLE)
    page.fill("#password", demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    page.fill("#totp-code", pyotp.TOTP(demo.TOTP_SECRETS["camille"]).now())
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def clear_caches(cdp, url: str) -> None:
    """Forget the HTTP cache, the service worker and its cache; keep cookies and storage."""
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.send("Storage.clearDataForOrigin", {"origin": url, "storageTypes": "service_workers,cache_storage"})


def lighthouse(binary: str, port: int, target: str, out: Path) -> dict:
    subprocess.run([binary, target, f"--port={port}", "--disable-storage-reset", "--quiet",
                    "--only-categories=" + ",".join(CATEGORIES), "--output=json", f"--output-path={out}"],
                   check=True)
    report = json.loads(out.read_text())
    result = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    result.update({m: report["audits"][m]["numericValue"] for m in METRICS})
    # Failed audits outside performance (whose metrics are shown as figures).
    audits = [report["audits"][ref["id"]] for c in CATEGORIES[1:]
              for ref in report["categories"][c]["auditRefs"] if ref["weight"] > 0]
    result["failed"] = sorted(a["id"] for a in audits if a["score"] is not None and a["score"] < 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lighthouse", required=True, help="the lighthouse executable")
    parser.add_argument("--runs", type=int, default=1, help="runs per screen (the median is shown)")
    parser.add_argument("--keep", type=Path, help="keep the JSON reports in this directory")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with temp_dir() as tmp:
        carnet, url = start_carnet(tmp / "data")
        chromium, port = start_chromium(tmp / "profile")
        reports = args.keep or tmp / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                page = browser.contexts[0].new_page()
                cdp = browser.contexts[0].new_cdp_session(page)
                logged_in = False
                rows = []
                for name, path, needs_session in SCREENS:
                    if needs_session and not logged_in:
                        login(page, url)
                        page.goto("about:blank")
                        logged_in = True
                    runs = []
                    for i in range(args.runs):
                        clear_caches(cdp, url)
                        report = reports / f"{name}-{i}.json"
                        runs.append(lighthouse(args.lighthouse, port, url + path, report))
                    rows.append((name, runs))
                browser.close()
        finally:
            chromium.terminate()
            carnet.terminate()
            chromium.wait(10)
            carnet.wait(10)

    print(f"{'screen':<10} {'perf':>4} {'a11y':>4} {'bp':>4} {'seo':>4}   FCP ms  LCP ms  TBT ms     CLS")
    for name, runs in rows:
        def median(key, runs=runs):
            return statistics.median(r[key] for r in runs)
        print(f"{name:<10} {median('performance'):>4.0f} {median('accessibility'):>4.0f} "
              f"{median('best-practices'):>4.0f} {median('seo'):>4.0f}  "
              f"{median('first-contentful-paint'):>7.0f} {median('largest-contentful-paint'):>7.0f} "
              f"{median('total-blocking-time'):>7.0f} {median('cumulative-layout-shift'):>7.3f}")
        failed = sorted({a for r in runs for a in r["failed"]})
        if failed:
            print(f"{'':<10} failing audits: {', '.join(failed)}")


if __name__ == "__main__":
    main()
