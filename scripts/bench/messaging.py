"""Benchmark: secure messages sent per second over HTTP with one live listener per thread.

Several patients each wrote to the same pharmacy; each has a Server-Sent Events
stream open (their phone showing that thread). The pharmacy's pharmacists
answer in every thread at once for the duration. Each message is
checked (thread, side, rate limit), sealed (text encrypted), written with its
read markers and published live (in memory on SQLite, NOTIFY on PostgreSQL).
The figures: messages accepted per second, the share of them every listener
received, and the delay from the answer to the event (p50, p99).

The floor, measured in the same run on the same server, is the cheapest
authenticated write of the slice: the pharmacists marking those threads read
(one row updated, no encryption, one event), with the same concurrency. The
database's own ceiling (committed single-row INSERTs of a message-sized row,
no HTTP) is printed for information.

The professional rate limit is lifted for the run (CARNET_PRO_MESSAGES_PER_10_MINUTES).

Usage: .venv/bin/python scripts/bench/messaging.py [--seconds 10] [--threads 8] [--senders 4]
       [--database postgresql://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import carnet_env, free_port, login, prepare, reset_postgres, serve, temp_dir  # noqa: E402

from backend import demo  # noqa: E402

TEXT = "Bonjour, votre commande est prête, vous pouvez passer à la pharmacie aux heures d'ouverture."


PASSWORD = "bench-only passphrase, 2026"  # noqa: S105


def patients(url: str, data_dir: Path, n: int) -> list[httpx.Client]:
    """``n`` insured persons imported, activated and logged in (password and TOTP), as phones would."""
    import pyotp

    token = json.loads((data_dir / "secrets.json").read_text())["admin_token"]
    rows = [{"nir": demo.nir(f"2900175{100 + i:03d}{i:03d}"), "identity_status": "QUAL",
             "birth_name": "PATIENTE", "first_names": [f"Numéro{i}"], "birth_date": "1990-01-15", "sex": "F",
             "birthplace_code": "75056",
             "amo_regime": "Régime général", "amo_caisse": "CPAM de Paris", "amo_caisse_code": "751",
             "amo_rights_start": "2020-01-01"} for i in range(n)]
    report = httpx.post(f"{url}/api/admin/registry/import", json=rows, timeout=60,
                        headers={"Authorization": f"Bearer {token}"}).json()
    clients = []
    for row, result in zip(rows, report["rows"], strict=True):
        client = httpx.Client(base_url=url, timeout=30)
        client.get("/health")
        client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
        client.post("/api/activation", json={"nir": row["nir"], "activation_code": result["activation_code"],
                                              "birth_date": row["birth_date"]}).raise_for_status()
        secret = client.post("/api/credentials/password", json={"password": PASSWORD}).json()["totp_secret"]
        code = pyotp.TOTP(secret).now()
        client.post("/api/credentials/totp/confirm", json={"code": code}).raise_for_status()
        clients.append(client)
    return clients


async def listen(url: str, cookies: dict, thread_id: str, seen: dict[str, float], ready: asyncio.Event,
                 stop: asyncio.Event) -> None:
    """One phone showing one thread: note when each of its messages arrives."""
    timeout = httpx.Timeout(30, read=None)  # a stream stays open
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=timeout) as client, \
            client.stream("GET", "/api/messaging/events", headers={"Accept": "text/event-stream"}) as r:
        kind = None
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
                if kind == "ready":
                    ready.set()
            elif line.startswith("data: ") and kind == "message":
                data = json.loads(line[6:])
                if data.get("thread_id") == thread_id:
                    seen.setdefault(data["message_id"], time.perf_counter())
            if stop.is_set():
                return


async def floor_http(url: str, pharmacist: httpx.Client, threads: list[str], seconds: float, senders: int
                     ) -> float:
    """Authenticated one-row writes per second: marking the threads read, as many at once as the senders."""
    deadline, done = time.perf_counter() + seconds, [0]

    async def reader(k: int) -> None:
        headers = {"x-csrf-token": pharmacist.headers["x-csrf-token"]}
        async with httpx.AsyncClient(base_url=url, cookies=dict(pharmacist.cookies), headers=headers,
                                     timeout=30) as client:
            i = k
            while time.perf_counter() < deadline:
                (await client.post(f"/api/threads/{threads[i % len(threads)]}/read")).raise_for_status()
                done[0] += 1
                i += senders

    await asyncio.gather(*(reader(k) for k in range(senders)))
    return done[0] / seconds


async def run(url: str, phones: list[httpx.Client], pharmacist: httpx.Client, threads: list[str],
              seconds: float, senders: int) -> dict:
    seen: list[dict[str, float]] = [{} for _ in threads]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in threads]
    listeners = [asyncio.create_task(listen(url, dict(phones[i].cookies), tid, seen[i], readies[i], stop))
                 for i, tid in enumerate(threads)]
    await asyncio.gather(*(e.wait() for e in readies))
    sent: dict[str, tuple[int, float]] = {}  # message id -> (thread index, when its answer came)
    deadline = time.perf_counter() + seconds

    async def sender(k: int) -> None:
        headers = {"x-csrf-token": pharmacist.headers["x-csrf-token"]}
        async with httpx.AsyncClient(base_url=url, cookies=dict(pharmacist.cookies), headers=headers,
                                     timeout=30) as client:
            i = k
            while time.perf_counter() < deadline:
                index = i % len(threads)
                r = await client.post(f"/api/threads/{threads[index]}/messages", json={"text": TEXT})
                if r.status_code != 201:
                    raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
                sent[r.json()["id"]] = (index, time.perf_counter())
                i += senders

    await asyncio.gather(*(sender(k) for k in range(senders)))
    await asyncio.sleep(2)  # the last events on their way
    stop.set()
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    delays = [seen[index][mid] - at for mid, (index, at) in sent.items() if mid in seen[index]]
    return {"sent": len(sent), "delivered": len(delays), "delays": sorted(delays)}


def database_rate(database: str | None, data_dir: Path, seconds: float) -> float:
    """Committed single-row INSERTs per second of a message-sized row, straight to the database."""
    row = ("x" * 36, "y" * 36, "z" * (len(TEXT) * 4 // 3 + 40))
    if database:
        import asyncpg

        async def pg() -> int:
            conn = await asyncpg.connect(database)
            await conn.execute("CREATE TEMP TABLE floor_message (id text, thread text, body text, "
                               "at timestamptz)")
            n, stop = 0, time.perf_counter() + seconds
            while time.perf_counter() < stop:
                await conn.execute("INSERT INTO floor_message VALUES ($1, $2, $3, now())", *row)
                n += 1
            await conn.close()
            return n

        return asyncio.run(pg()) / seconds
    conn = sqlite3.connect(data_dir / "floor.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE floor_message (id TEXT, thread TEXT, body TEXT, at TEXT)")
    n, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO floor_message VALUES (?, ?, ?, datetime('now'))", row)
        conn.execute("COMMIT")
        n += 1
    conn.close()
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8,
                        help="patients, each with one thread and one listener")
    parser.add_argument("--senders", type=int, default=4, help="concurrent pharmacist requests")
    parser.add_argument("--database", help="PostgreSQL URL for the Carnet server (default SQLite)")
    args = parser.parse_args()

    with temp_dir() as data_dir:
        port = free_port()
        env = carnet_env(data_dir, port, args.database)
        env["CARNET_PRO_MESSAGES_PER_10_MINUTES"] = str(10**9)
        if args.database:
            reset_postgres(args.database)
        prepare(env)
        with serve(["--factory", "backend.app:create_app"], env, port) as url:
            pharmacist = login(url, "pharmacist", "pro", demo.PHARMACIST_RPPS)
            pharmacy = pharmacist.get("/api/pro/threads").json()["structure"]["id"]
            phones, threads = patients(url, data_dir, args.threads), []
            for phone in phones:
                person = phone.get("/api/me").json()["profiles"][0]["id"]
                r = phone.post(f"/api/profiles/{person}/threads",
                               json={"structure_id": pharmacy, "text": "Mon ordonnance est-elle prête ?"})
                r.raise_for_status()
                threads.append(r.json()["id"])
            result = asyncio.run(run(url, phones, pharmacist, threads, args.seconds, args.senders))
            floor = asyncio.run(floor_http(url, pharmacist, threads, min(args.seconds, 5), args.senders))
        ceiling = database_rate(args.database, data_dir, min(args.seconds, 5))
    rate = result["sent"] / args.seconds
    delays = result["delays"] or [float("nan")]
    p99 = statistics.quantiles(delays, n=100)[98] if len(delays) >= 100 else delays[-1]
    print(f"database: {'PostgreSQL' if args.database else 'SQLite'}, {args.threads} threads with one live "
          f"listener each, {args.senders} concurrent senders, {os.cpu_count()} cores")
    print(f"messages sent over HTTP: {rate:.0f}/s; received live: {result['delivered']}/{result['sent']}; "
          f"delay p50 {statistics.median(delays) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"floor, the same pharmacists marking those threads read over HTTP: {floor:.0f}/s")
    print(f"ratio to the floor: {rate / floor:.2f}")
    print(f"(the database alone, one committed INSERT of a message-sized row: {ceiling:.0f}/s)")


if __name__ == "__main__":
    main()
