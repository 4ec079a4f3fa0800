"""Run a real Carnet server in a subprocess (browser and crash tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: str, port: int) -> dict[str, str]:
    env = {**os.environ, "CARNET_DATA_DIR": data_dir, "CARNET_PORT": str(port),
           "CARNET_PUBLIC_URL": f"http://localhost:{port}", "CARNET_LOG_LEVEL": "WARNING"}
    env.pop("CARNET_DATABASE_URL", None)
    return env


def prepare(env: dict[str, str]) -> None:
    for cmd in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "backend.cli", cmd], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start ``carnet serve`` and wait until /health answers."""
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://localhost:{env['CARNET_PORT']}"
    for _ in range(150):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("Carnet did not start: " + proc.stderr.read().decode()[-2000:])
