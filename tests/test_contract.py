"""The committed OpenAPI document is exact: Schemathesis, with every check, finds nothing.

A served instance (SQLite, fresh demo data) is tested by the Schemathesis command
line, once anonymous and once logged in as each kind of user: a citizen, a
caregiver acting for the person who delegated to them, a GP and a pharmacist.
Positive and negative requests are generated for every operation of
``schemas/openapi.json``; the checks include undocumented status codes and
content types, response schemas, schema-valid requests refused,
schema-violating requests accepted, ``Allow`` headers and server errors.
Path identifiers are drawn most of the time from the real ids each user can
reach, so that the requests reach the code behind the access checks.

Any operation added later is tested the same way without changing this file.
Set ``CARNET_CONTRACT_SEED`` to replay another seed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from backend import demo
from tests import serverutil
from tests.factories import fresh_totp

pytestmark = pytest.mark.served

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = (ROOT / "tests/contract/schemathesis.toml").read_text()
SEED = os.environ.get("CARNET_CONTRACT_SEED", "20261201")
MIN_REQUESTS_PER_USER = 400  # five users: 2,000 requests at least
ACCOUNTS = {
    "citizen": ("citizen", demo.CAMILLE, "camille"),
    "caregiver": ("citizen", demo.DOMINIQUE, "dominique"),
    "gp": ("pro", demo.GP_RPPS, "gp"),
    "pharmacist": ("pro", demo.PHARMACIST_RPPS, "pharmacist"),
}
# These end the session the run depends on: the anonymous run covers them.
SESSION_ENDING = ("logout", "logoutEverywhere")


@pytest.fixture
def served():
    """A fresh demo instance per user: one run's changes never shape the next."""
    with tempfile.TemporaryDirectory(prefix="carnet-contract-") as tmp:
        env = serverutil.server_env(tmp, serverutil.free_port())
        serverutil.prepare(env)
        proc, url = serverutil.start(env)
        try:
            yield url
        finally:
            proc.kill()
            proc.wait()


def _login(url: str, role: str) -> httpx.Client:
    kind, identifier, totp = ACCOUNTS[role]
    client = httpx.Client(base_url=url, headers={"origin": url})
    client.get("/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    r = client.post("/api/auth/login", json={"identifier": identifier, "password": demo.DEMO_PASSWORD,
                                             "kind": kind})
    assert r.status_code == 200, r.text
    r = client.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS[totp])})
    assert r.status_code == 200, r.text
    return client


def _known_ids(url: str, role: str, client: httpx.Client) -> dict[str, list[str]]:
    """Ids this user can name: their profiles (Camille's, for the others), and Camille's documents,
    prescriptions, conversations, and the pharmacies."""
    camille = client if role == "citizen" else _login(url, "citizen")
    own = [p["id"] for p in camille.get("/api/me").json()["profiles"]]
    profiles = own if role != "caregiver" else [
        p["id"] for p in client.get("/api/me").json()["profiles"] if p["relation"] == "delegate"]
    documents = [d["id"] for d in camille.get(f"/api/profiles/{own[0]}/documents").json()["items"]]
    prescriptions = [p["id"] for p in camille.get(f"/api/profiles/{own[0]}/prescriptions").json()["items"]]
    threads = [t["id"] for t in camille.get(f"/api/profiles/{own[0]}/threads").json()["items"]]
    pharmacies = [s["id"] for s in camille.get("/api/pharmacies", params={"q": "pharmacie"}).json()["items"]]
    return {"profiles": profiles, "documents": documents[:10], "prescriptions": prescriptions,
            "threads": threads, "structures": pharmacies}


def _config(ids: dict[str, list[str]] | None) -> str:
    if not ids:
        return BASE_CONFIG
    return BASE_CONFIG + f"""
[dictionaries.profiles]
values = {json.dumps(ids["profiles"])}

[dictionaries.documents]
values = {json.dumps(ids["documents"])}

[dictionaries.prescriptions]
values = {json.dumps(ids["prescriptions"])}

[dictionaries.threads]
values = {json.dumps(ids["threads"])}

[dictionaries.structures]
values = {json.dumps(ids["structures"])}

[parameters]
"path.profile_id" = {{ dictionary = "profiles", probability = 0.8 }}
"path.document_id" = {{ dictionary = "documents", probability = 0.8 }}
"path.prescription_id" = {{ dictionary = "prescriptions", probability = 0.8 }}
"path.thread_id" = {{ dictionary = "threads", probability = 0.8 }}
"path.structure_id" = {{ dictionary = "structures", probability = 0.8 }}
"""


def _schemathesis(url: str, headers: dict[str, str], config: str, exclude: tuple[str, ...]) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="carnet-st-") as tmp:
        config_file = Path(tmp) / "schemathesis.toml"
        config_file.write_text(config)
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config_file), "run",
               str(ROOT / "schemas/openapi.json"), "--url", url, "--checks", "all", "--mode", "all",
               "--max-examples", "6", "--seed", SEED, "--workers", "1", "--no-color",
               "--suppress-health-check", "all"]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        for operation in exclude:
            cmd += ["--exclude-operation-id", operation]
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("role", ["anonymous", *ACCOUNTS])
def test_contract_holds_for(served, role):
    """No failure, and at least 400 requests per user (2,000 over the five runs)."""
    if role == "anonymous":
        client = httpx.Client(base_url=served)
        client.get("/health")
        config, exclude = _config(None), ()
    else:
        client = _login(served, role)
        config, exclude = _config(_known_ids(served, role, client)), SESSION_ENDING
    headers = {"Origin": served, "x-csrf-token": client.cookies["carnet_csrf"],
               "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())}
    code, output = _schemathesis(served, headers, config, exclude)
    generated = re.search(r"(\d+) generated", output)
    assert code == 0 and generated, output[-15000:]
    assert int(generated.group(1)) >= MIN_REQUESTS_PER_USER, output[-3000:]
