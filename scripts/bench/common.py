"""Shared helpers for the benchmarks: temporary data, servers, wrk runs."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def carnet_env(data_dir: Path, port: int, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "CARNET_DATA_DIR": str(data_dir), "CARNET_PORT": str(port),
           "CARNET_LOG_LEVEL": "WARNING"}
    if database_url:
        env["CARNET_DATABASE_URL"] = database_url
    return env


def prepare(env: dict[str, str]) -> None:
    """Migrate and seed the demo world in the benchmark's own data directory."""
    for cmd in ("migrate", "seed-demo"):
        subprocess.run([PY, "-m", "backend.cli", cmd], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def serve(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Run an ASGI app under uvicorn (one worker, no access log) until the block ends."""
    proc = subprocess.Popen([PY, "-m", "uvicorn", *args, "--port", str(port), "--no-access-log",
                             "--log-level", "warning"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None) -> dict:
    """Run wrk against ``url``; return requests/s and p99 latency in ms."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in (headers or {}).items():
        cmd[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * factor,
            "errors": int(non2xx.group(1)) if non2xx else 0}


def reset_postgres(url: str) -> None:
    """Empty the benchmark's PostgreSQL database (drop and recreate the public schema)."""
    import asyncio

    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()

    asyncio.run(reset())


def login(url: str, who: str, kind: str, identifier: str, step: int = 0) -> httpx.Client:
    """A client logged in as a demo account (password + TOTP of window ``step``)."""
    import pyotp

    from backend import demo

    client = httpx.Client(base_url=url, timeout=30)
    client.get("/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    client.post("/api/auth/login", json={"identifier": identifier, "password": demo.DEMO_PASSWORD,
                                         "kind": kind}).raise_for_status()
    code = pyotp.TOTP(demo.TOTP_SECRETS[who]).at(time.time() + 30 * step)
    client.post("/api/auth/login/totp", json={"code": code}).raise_for_status()
    return client


def cookie_header(client: httpx.Client) -> str:
    """The session and CSRF cookies as a header, as a browser would send them."""
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


@contextlib.contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="carnet-bench-") as tmp:
        yield Path(tmp)
