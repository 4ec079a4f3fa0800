"""Benchmarks of the record, each against a floor measured in the same run.

1. The document list (1,000 documents, page of 20): read by a professional
   (audit event written on every request) and by the citizen (no audit), against
   a bare handler running the same page query through raw sqlite3.
2. Professional feed throughput of 100 KB PDFs (sanitising, AES-GCM encryption,
   durable blob write, row, audit), against the national peak of ~110 documents/s.

Usage: .venv/bin/python scripts/bench/documents.py [--seconds 10] [--connections 16] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import date, timedelta
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

NATIONAL_PEAK = 110  # documents/s, the national record's observed peak


async def seed_documents(env: dict[str, str], count: int) -> None:
    """Bulk-add ``count`` documents to Camille's record through the store (encrypted blobs)."""
    import os

    os.environ.update(env)
    from backend.core import database
    from backend.core.settings import load_settings
    from backend.documents.policy import operator_policy
    from backend.documents.repository import DocumentRepository
    from backend.documents.services import blob_store
    from backend.identity.tables import InsuredPerson
    from backend.professionals.tables import Professional

    settings = load_settings()
    engine = database.configure_engine(settings.database_url)
    await database.start(engine)
    person = await InsuredPerson.select(InsuredPerson.id).where(InsuredPerson.nir == demo.CAMILLE).first()
    gp = await Professional.select().where(Professional.rpps == demo.GP_RPPS).first()
    pdf = demo.sample_pdf("Document de charge")
    types = ["57833-6", "11502-2", "11488-4", "18748-4", "11369-6"]
    for i in range(count):
        title = f"Document {i:04d}"
        values = {"person": person["id"], "type_code": types[i % 5], "category": "comptes-rendus",
                  "title": title,
                  "care_date": date(2026, 1, 1) + timedelta(days=i % 300),
                  "author_professional": gp["id"], "author_label": "Alice MÉDECIN", "source": "professional",
                  "added_by": "Alice MÉDECIN", "media_type": "application/pdf", "filename": "doc.pdf"}
        blob_id = uuid.uuid4().hex
        stored = await blob_store(settings).put(blob_id, pdf)
        await DocumentRepository(operator_policy(person["id"])).insert({
            **values, "blob_id": blob_id, "wrapped_key": stored.wrapped_key, "sha256": stored.sha256,
            "size": stored.size})
    await database.stop(engine)


async def feed_in_process(env: dict[str, str], seconds: float, workers: int) -> int:
    """The same feed through the service layer, without HTTP or a Python load generator."""
    import os

    os.environ.update(env)
    from backend.core import database
    from backend.core.auth import Actor
    from backend.core.settings import load_settings
    from backend.documents.services import feed_document
    from backend.professionals.tables import Professional

    settings = load_settings()
    engine = database.configure_engine(settings.database_url)
    await database.start(engine)
    gp = await Professional.select(Professional.id).where(Professional.rpps == demo.GP_RPPS).first()
    actor = Actor(account_id=gp["id"], kind="pro", session_id="bench", stage="active",
                  professional_id=gp["id"])
    traits = {"birth_name": "INVENTÉE", "first_name": "Camille", "birth_date": date(1984, 5, 12), "sex": "F"}
    padding = "Y" * 100_000
    counter = iter(range(10**9))
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            data = demo.sample_pdf(f"{next(counter):08d} {padding}")
            await feed_document(settings, actor, ins=demo.CAMILLE, traits=traits, body=data,
                                filename="bilan.pdf", title="Bilan", type_code="11502-2",
                                care_date=date(2026, 10, 1), hidden_from_guardians=False,
                                announce_later=False, idempotency_key=None)
            done += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    await database.stop(engine)
    return done


async def feed_load(url: str, cookies: str, seconds: float, workers: int) -> tuple[int, int]:
    """Post 100 KB PDFs from ``workers`` concurrent clients; return (accepted, errors)."""
    seq = iter(range(10**9))
    padding = "X" * 100_000

    def next_pdf() -> bytes:  # distinct files: the record refuses duplicates
        return demo.sample_pdf(f"{next(seq):08d} {padding}")
    row = {"ins": demo.CAMILLE, "birth_name": "INVENTÉE", "first_name": "Camille", "birth_date": "1984-05-12",
           "sex": "F", "type_code": "11502-2", "title": "Bilan de charge", "care_date": "2026-10-01"}
    csrf = next(c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("carnet_csrf="))
    headers = {"Cookie": cookies, "x-csrf-token": csrf}
    done, errors = 0, 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while time.monotonic() < deadline:
                r = await client.post("/api/pro/documents", data=row, headers=headers,
                                      files={"file": ("bilan.pdf", next_pdf(), "application/pdf")})
                if r.status_code == 201:
                    done += 1
                else:
                    errors += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--database", help="PostgreSQL URL for Carnet (default SQLite)")
    args = parser.parse_args()

    with temp_dir() as data_dir:
        port = free_port()
        env = carnet_env(data_dir, port, args.database)
        if args.database:
            reset_postgres(args.database)
        prepare(env)
        asyncio.run(seed_documents(env, args.documents))
        floor_env = env
        if args.database:
            floor_env = carnet_env(data_dir / "floor", port, None)
            prepare(floor_env)
            asyncio.run(seed_documents(floor_env, args.documents))

        with serve(["--factory", "backend.app:create_app"], env, port) as url:
            gp = login(url, "gp", "pro", demo.GP_RPPS)
            camille = login(url, "camille", "citizen", demo.CAMILLE, step=1)
            pid = camille.get("/api/me").json()["profiles"][0]["id"]
            pro_url = f"{url}/api/pro/patients/{pid}/documents?page_size=20"
            own_url = f"{url}/api/profiles/{pid}/documents?page_size=20"
            assert gp.get(pro_url).json()["total"] >= args.documents
            wrk(pro_url, 2, args.connections, {"Cookie": cookie_header(gp)})
            pro = wrk(pro_url, args.seconds, args.connections, {"Cookie": cookie_header(gp)})
            own = wrk(own_url, args.seconds, args.connections, {"Cookie": cookie_header(camille)})
            accepted, errors = asyncio.run(feed_load(url, cookie_header(gp), args.seconds, 8))
        stored = asyncio.run(feed_in_process(env, args.seconds, 8))

        floor_port = free_port()
        floor_db = Path(floor_env["CARNET_DATA_DIR"]) / "carnet.sqlite3"
        floor_app_env = {**env, "CARNET_BENCH_SQLITE": str(floor_db)}
        with serve(["--app-dir", "scripts/bench", "floor_app:app"], floor_app_env, floor_port) as furl:
            wrk(f"{furl}/documents", 2, args.connections)
            floor = wrk(f"{furl}/documents", args.seconds, args.connections)

    engine = "PostgreSQL" if args.database else "SQLite"
    print(f"document list, professional, audit on ({engine}): {pro['rps']:.0f} req/s, "
          f"p99 {pro['p99_ms']:.1f} ms, non-2xx {pro['errors']}")
    print(f"document list, citizen, no audit ({engine}): {own['rps']:.0f} req/s, p99 {own['p99_ms']:.1f} ms")
    print(f"floor (raw sqlite3, same page query): {floor['rps']:.0f} req/s, p99 {floor['p99_ms']:.1f} ms")
    print(f"ratio professional/floor: {pro['rps'] / floor['rps']:.2f}; citizen/floor: "
          f"{own['rps'] / floor['rps']:.2f}; audit cost: {1 - pro['rps'] / own['rps']:.0%} of throughput")
    rate, store_rate = accepted / args.seconds, stored / args.seconds
    print(f"feed through the service layer (no HTTP), 8 tasks: {store_rate:.1f} documents/s; "
          f"ratio to the national peak: {store_rate / NATIONAL_PEAK:.2f}")
    print(f"feed, 100 KB PDFs, 8 clients: {rate:.1f} documents/s ({errors} errors); "
          f"ratio to the national peak ({NATIONAL_PEAK}/s): {rate / NATIONAL_PEAK:.2f}")


if __name__ == "__main__":
    main()
