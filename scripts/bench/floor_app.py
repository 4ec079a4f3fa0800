"""The floor: a bare Litestar handler reading one row through a raw sqlite3 connection."""

import os
import sqlite3

from litestar import Litestar, get

_conn = sqlite3.connect(os.environ["CARNET_BENCH_SQLITE"], check_same_thread=False)
_conn.execute("PRAGMA journal_mode = WAL")


@get("/health")
async def health() -> dict:
    return {"status": "ok"}


@get("/row")
async def row() -> dict:
    r = _conn.execute("SELECT id, first_name, birth_name FROM insured_person LIMIT 1").fetchone()
    return {"id": r[0], "first_name": r[1], "birth_name": r[2]}


@get("/documents")
async def documents() -> list[dict]:
    rows = _conn.execute(
        "SELECT id, type_code, title, care_date, author_label, media_type, size FROM document "
        "WHERE person = (SELECT person FROM document LIMIT 1) AND status = 'active' "
        "ORDER BY care_date DESC LIMIT 20"
    ).fetchall()
    keys = ("id", "type_code", "title", "care_date", "author_label", "media_type", "size")
    return [dict(zip(keys, r, strict=True)) for r in rows]


app = Litestar([health, row, documents])
