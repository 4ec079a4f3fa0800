"""Benchmark: the authenticated "my card" read against a raw-sqlite3 floor, in the same run.

Usage: .venv/bin/python scripts/bench/card_read.py [--seconds 10] [--connections 32]
       [--database postgresql://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import (  # noqa: E402
    carnet_env,
    cookie_header,
    free_port,
    login,
    prepare,
    reset_postgres,
    serve,
    temp_dir,
    wrk,
)

from backend import demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", help="PostgreSQL URL for the Carnet server (default SQLite)")
    args = parser.parse_args()

    with temp_dir() as data_dir:
        port = free_port()
        env = carnet_env(data_dir, port, args.database)
        if args.database:
            reset_postgres(args.database)
        prepare(env)
        # The floor always reads SQLite: seed a SQLite copy when Carnet runs on PostgreSQL.
        sqlite_env = carnet_env(data_dir / "floor", port, None) if args.database else env
        if args.database:
            prepare(sqlite_env)
        floor_db = Path(sqlite_env["CARNET_DATA_DIR"]) / "carnet.sqlite3"

        with serve(["--factory", "backend.app:create_app"], env, port) as url:
            client = login(url, "camille", "citizen", demo.CAMILLE)
            cookie, profile = cookie_header(client), client.get("/api/me").json()["profiles"][0]["id"]
            card_url = f"{url}/api/profiles/{profile}/card"
            assert httpx.get(card_url, headers={"Cookie": cookie}).status_code == 200
            wrk(card_url, 2, args.connections, {"Cookie": cookie})  # warm-up
            card = wrk(card_url, args.seconds, args.connections, {"Cookie": cookie})

        floor_port = free_port()
        floor_env = {**env, "CARNET_BENCH_SQLITE": str(floor_db)}
        with serve(["--app-dir", "scripts/bench", "floor_app:app"], floor_env, floor_port) as url:
            wrk(f"{url}/row", 2, args.connections)
            floor = wrk(f"{url}/row", args.seconds, args.connections)

    engine = "PostgreSQL" if args.database else "SQLite"
    print(f"card read ({engine}): {card['rps']:.0f} req/s, p99 {card['p99_ms']:.1f} ms, "
          f"non-2xx {card['errors']}")
    print(f"floor (raw sqlite3, one row): {floor['rps']:.0f} req/s, p99 {floor['p99_ms']:.1f} ms")
    print(f"ratio card/floor: {card['rps'] / floor['rps']:.2f}")


if __name__ == "__main__":
    main()
