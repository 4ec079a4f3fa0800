"""Crash test: kill the server in the middle of a stream of uploads, restart, check the record."""

from __future__ import annotations

import hashlib
import signal
import tempfile
import threading
import time

import httpx
import pyotp

from backend import demo
from tests.serverutil import free_port, prepare, server_env, start


def _login(url: str, step: int = 0) -> httpx.Client:
    """Log the demo citizen in; ``step`` picks the TOTP window (a code is accepted once)."""
    client = httpx.Client(base_url=url, timeout=10)
    client.get("/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    client.post("/api/auth/login", json={"identifier": demo.CAMILLE, "password": demo.DEMO_PASSWORD})
    r = client.post("/api/auth/login/totp", json={"code": pyotp.TOTP(demo.TOTP_SECRETS["camille"]).at(time.time() + 30 * step)})
    assert r.status_code == 200, r.text
    return client


def test_kill_during_uploads_keeps_every_acknowledged_document_intact():
    with tempfile.TemporaryDirectory(prefix="carnet-crash-") as tmp:
        env = server_env(tmp, free_port())
        prepare(env)
        proc, url = start(env)
        client = _login(url)
        pid = client.get("/api/me").json()["profiles"][0]["id"]
        acknowledged: dict[str, str] = {}
        stop = threading.Event()

        def stream() -> None:
            i = 0
            while not stop.is_set():
                body = demo.sample_pdf(f"Envoi {i} " + "x" * 20_000)
                try:
                    r = client.post(f"/api/profiles/{pid}/documents", data={"title": f"Envoi {i}"},
                                    files={"file": (f"envoi-{i}.pdf", body, "application/pdf")})
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    acknowledged[r.json()["id"]] = hashlib.sha256(body).hexdigest()
                i += 1

        uploader = threading.Thread(target=stream)
        uploader.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no shutdown, mid-stream
        proc.wait(10)
        stop.set()
        uploader.join(10)
        assert len(acknowledged) >= 15

        proc, url = start(env)
        try:
            client = _login(url, step=1)
            listed = client.get(f"/api/profiles/{pid}/documents", params={"page_size": 100})
            items = {d["id"]: d for d in listed.json()["items"]}
            assert set(acknowledged) <= set(items), "an acknowledged document was lost"
            for doc_id in items:  # every visible document is whole and matches its hash
                r = client.get(f"/api/documents/{doc_id}/content")
                assert r.status_code == 200
                if doc_id in acknowledged:
                    assert hashlib.sha256(r.content).hexdigest() == acknowledged[doc_id]
        finally:
            proc.terminate()
            proc.wait(10)
