"""Benchmark: e-prescriptions written per second over HTTP, against the PDF alone, in the same run.

Each request is what a prescriber's software sends: a 3-line prescription for
Camille. The server checks the prescriber's basis, draws the number, renders
the PDF with its QR code, sanitises and encrypts it into her record, writes the
structured prescription and the audit event, all in one transaction. The floor
is the printable copy rendered alone in this process (``prescription_pdf.pdf_rate``),
the one step no prescription can skip. The national average is about 1.4
prescriptions per second.

Usage: .venv/bin/python scripts/bench/prescriptions.py [--seconds 10] [--clients 4]
       [--database postgresql://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import carnet_env, free_port, login, prepare, reset_postgres, serve, temp_dir  # noqa: E402
from prescription_pdf import pdf_rate  # noqa: E402

from backend import demo  # noqa: E402

NATIONAL_AVERAGE = 1.4  # e-prescriptions per second in France


def body() -> dict:
    def dosage(times: int, days: int, text: str | None = None) -> dict:
        return {"dose_value": 1, "dose_unit": "comprimé", "frequency": times, "period": 1, "period_unit": "d",
                "route": "oral", "duration_days": days, "text": text}

    return {"dispensing_visible": True, "lines": [
        {"cis": "60234100", "dosage": dosage(3, 5, "Au milieu des repas."), "quantity": 2},
        {"cis": "62080626", "dosage": dosage(1, 30, "Le matin à jeun."), "quantity": 1, "renewals": 2,
         "non_substitutable": True, "non_substitution_reason": "MTE"},
        {"cis": "69118175", "dosage": dosage(2, 6), "quantity": 2},
    ]}


async def write_for(url: str, cookies: dict, headers: dict, path: str, seconds: float, clients: int
                    ) -> tuple[int, list[float]]:
    """Prescriptions written by ``clients`` concurrent senders for ``seconds``; their latencies."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def sender() -> None:
        async with httpx.AsyncClient(base_url=url, cookies=cookies, headers=headers, timeout=30) as client:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                r = await client.post(path, json=body())
                if r.status_code != 201:
                    raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(sender() for _ in range(clients)))
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", help="PostgreSQL URL for the Carnet server (default SQLite)")
    args = parser.parse_args()

    with temp_dir() as data_dir:
        port = free_port()
        env = carnet_env(data_dir, port, args.database)
        if args.database:
            reset_postgres(args.database)
        prepare(env)
        with serve(["--factory", "backend.app:create_app"], env, port) as url:
            gp = login(url, "gp", "pro", demo.GP_RPPS)
            patients = gp.get("/api/pro/patients").json()["items"]
            camille = next(p["id"] for p in patients if p["first_name"] == "Camille")
            path = f"/api/pro/patients/{camille}/prescriptions"
            cookies, headers = dict(gp.cookies), {"x-csrf-token": gp.headers["x-csrf-token"]}
            asyncio.run(write_for(url, cookies, headers, path, 1, 1))  # warm-up
            count, latencies = asyncio.run(write_for(url, cookies, headers, path, args.seconds, args.clients))
    rate = count / args.seconds
    floor = pdf_rate(min(args.seconds, 5))
    p99 = (statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)) * 1000
    print(f"database: {'PostgreSQL' if args.database else 'SQLite'}, {args.clients} concurrent prescribers")
    print(f"prescriptions written over HTTP: {rate:.1f}/s (p99 {p99:.0f} ms), "
          f"{rate / NATIONAL_AVERAGE:.0f}x the national average of {NATIONAL_AVERAGE}/s")
    print(f"floor, the PDF with its QR code rendered alone in this process: {floor:.1f}/s")
    print(f"ratio to the floor: {rate / floor:.2f}")


if __name__ == "__main__":
    main()
