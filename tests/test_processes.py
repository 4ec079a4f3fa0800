"""Several server processes, one truth: two ``carnet serve`` on one PostgreSQL database.

Requests are split across both processes (a load balancer would do the same)
and sent at the same moment. Single-use things stay single-use, an
idempotency key replays to one document, the login throttle counts the
attempts made on both, and the access history's chain verifies afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from backend import demo
from tests import serverutil
from tests.conftest import BACKEND
from tests.docworld import pdf
from tests.factories import fresh_totp

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="needs CARNET_TEST_DB=postgres")


def _database(name: str) -> str:
    """A fresh database next to the test database (dropped first if a run left it)."""
    url = urlsplit(os.environ["CARNET_TEST_POSTGRES_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return urlunsplit(url._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def two_processes():
    database = _database(f"{urlsplit(os.environ['CARNET_TEST_POSTGRES_URL']).path.lstrip('/')}_processes")
    with tempfile.TemporaryDirectory(prefix="carnet-procs-") as tmp:
        ports = [serverutil.free_port(), serverutil.free_port()]
        envs = []
        for port in ports:
            env = serverutil.server_env(tmp, port)
            # Behind one address, as behind a load balancer: same public URL, same data directory.
            env.update(CARNET_DATABASE_URL=database, CARNET_PUBLIC_URL=f"http://localhost:{ports[0]}",
                       CARNET_WORKERS="1")
            envs.append(env)
        serverutil.prepare(envs[0])
        procs = [serverutil.start(env) for env in envs]
        try:
            yield [url for _, url in procs], envs[0]
        finally:
            for proc, _ in procs:
                proc.terminate()
                proc.wait(10)


def _client(urls: list[str]) -> httpx.Client:
    client = httpx.Client(timeout=30)
    client.get(f"{urls[0]}/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    return client


def _login(urls: list[str], kind: str, identifier: str, who: str) -> httpx.Client:
    client = _client(urls)
    r = client.post(f"{urls[0]}/api/auth/login", json={"identifier": identifier, "password": demo.DEMO_PASSWORD,
                                                       "kind": kind})
    assert r.status_code == 200, r.text
    r = client.post(f"{urls[1]}/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS[who])})
    assert r.status_code == 200, r.text  # the session opened on one process continues on the other
    return client


def _at_once(*calls) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_single_use_things_are_used_once_across_processes(two_processes):
    urls, _ = two_processes
    camille = _login(urls, "citizen", demo.CAMILLE, "camille")
    gp = _login(urls, "pro", demo.GP_RPPS, "gp")
    pharmacist = _login(urls, "pro", demo.PHARMACIST_RPPS, "pharmacist")
    person = camille.get(f"{urls[0]}/api/me").json()["profiles"][0]["id"]
    # A presentation token, checked by two professionals on two processes at once.
    token = camille.post(f"{urls[0]}/api/profiles/{person}/presentations").json()["token"]
    answers = _at_once(
        lambda: gp.post(f"{urls[0]}/api/pro/presentations/verify", json={"token": token}),
        lambda: pharmacist.post(f"{urls[1]}/api/pro/presentations/verify", json={"token": token}))
    assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
    # A temporary access code, redeemed by both at once.
    code = camille.post(f"{urls[1]}/api/profiles/{person}/temporary-access", json={"minutes": 30}).json()["code"]
    answers = _at_once(
        lambda: gp.post(f"{urls[0]}/api/pro/temporary-access/redeem", json={"code": code}),
        lambda: pharmacist.post(f"{urls[1]}/api/pro/temporary-access/redeem", json={"code": code}))
    assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]


def test_an_activation_code_opens_one_space_across_processes(two_processes):
    urls, _ = two_processes
    nir, birth, code = demo.PENDING[0], "1990-01-30", demo.PENDING_CODES[0]
    phones = [_client(urls), _client(urls)]
    for phone, url in zip(phones, urls, strict=True):
        r = phone.post(f"{url}/api/activation", json={"nir": nir, "activation_code": code, "birth_date": birth})
        assert r.status_code == 200, r.text
    secrets = []
    for phone, url in zip(phones, urls, strict=True):
        r = phone.post(f"{url}/api/credentials/password", json={"password": "une phrase de passe bien longue 7"})
        assert r.status_code == 200, r.text
        secrets.append(r.json()["totp_secret"])
    import pyotp

    answers = _at_once(*(
        (lambda phone=phone, url=url, secret=secret: phone.post(
            f"{url}/api/credentials/totp/confirm", json={"code": pyotp.TOTP(secret).now()}))
        for phone, url, secret in zip(phones, urls, secrets, strict=True)))
    assert sorted(r.status_code for r in answers)[0] == 200
    assert sum(r.status_code == 200 for r in answers) == 1, [r.text for r in answers]


def test_an_idempotency_key_replays_to_one_document_across_processes(two_processes):
    urls, _ = two_processes
    camille = _login(urls, "citizen", demo.CAMILLE, "camille")
    person = camille.get(f"{urls[0]}/api/me").json()["profiles"][0]["id"]
    before = camille.get(f"{urls[0]}/api/profiles/{person}/documents").json()["total"]
    body = pdf("Photo d'ordonnance envoyée deux fois")

    def upload(url: str):
        return lambda: camille.post(f"{url}/api/profiles/{person}/documents", data={"title": "Ordonnance"},
                                    files={"file": ("o.pdf", body, "application/pdf")},
                                    headers={"Idempotency-Key": "retry-across-processes"})

    answers = _at_once(upload(urls[0]), upload(urls[1]), upload(urls[0]), upload(urls[1]))
    assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert camille.get(f"{urls[1]}/api/profiles/{person}/documents").json()["total"] == before + 1


def test_the_login_throttle_counts_attempts_on_both_processes(two_processes):
    urls, _ = two_processes
    client = _client(urls)
    statuses = []
    for i in range(12):
        r = client.post(f"{urls[i % 2]}/api/auth/login", json={"identifier": demo.DOMINIQUE, "password": "faux",
                                                                "kind": "citizen"})
        statuses.append(r.status_code)
    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert all(s == 401 for s in statuses[:first]) and first <= 10, statuses


def test_the_access_history_chain_verifies_after_all_that(two_processes):
    urls, env = two_processes
    gp = _login(urls, "pro", demo.GP_RPPS, "gp")
    patients = gp.get(f"{urls[0]}/api/pro/patients").json()["items"]
    _at_once(*(lambda url=url, p=p: gp.get(f"{url}/api/pro/patients/{p['id']}/documents")
               for p in patients for url in urls))
    out = subprocess.run([sys.executable, "-m", "backend.cli", "verify-audit"], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0 and "chain intact" in out.stdout, out.stdout + out.stderr
