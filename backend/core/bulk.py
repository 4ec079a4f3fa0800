"""Bulk imports (insurer registry, professional directory): reading the upload, one result per row."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

import msgspec
from litestar import Request

from backend.core.errors import InvalidRequest, UnsupportedMediaType
from backend.core.schemas import Out
from backend.core.settings import Settings


class RowResult(msgspec.Struct):
    row: int
    status: Literal["created", "updated", "unchanged", "rejected"]
    person_id: str | None = None
    nir: str | None = None
    reason: str | None = None
    activation_code: str | None = None


class ImportRow(Out):
    row: int
    status: str
    person_id: str | None = None
    nir: str | None = None
    reason: str | None = None
    activation_code: str | None = None


class ImportReport(Out):
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRow]


def parse_rows(payload: bytes, content_type: str, list_fields: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Read CSV (header row, ``;`` or ``,`` separated) or a JSON array.

    In CSV, the columns named in ``list_fields`` hold space-separated lists.
    """
    text = payload.decode("utf-8-sig", errors="strict")
    if "json" in content_type or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"JSON illisible : {exc.msg} (ligne {exc.lineno}).",
                                 detail_en=f"Unreadable JSON: {exc.msg} (line {exc.lineno}).") from exc
        if not isinstance(rows, list):
            raise InvalidRequest("Un tableau JSON de personnes est attendu.",
                                 detail_en="A JSON array of persons is expected.")
        return rows
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;")
    out = []
    for raw in csv.DictReader(io.StringIO(text), dialect=dialect):
        row: dict[str, Any] = {k.strip(): (v.strip() if isinstance(v, str) else v)
                               for k, v in raw.items() if k}
        for key in list_fields:
            if key in row:
                row[key] = row[key].split() if row[key] else []
        out.append({k: v for k, v in row.items() if v not in ("", None)})
    return out


def report(results: list) -> ImportReport:
    """Summarise per-row import results."""
    rows = [msgspec.structs.asdict(r) for r in results]
    counts = {k: sum(1 for r in rows if r["status"] == k)
              for k in ("created", "updated", "unchanged", "rejected")}
    return msgspec.convert({**counts, "rows": rows}, ImportReport)


async def read_import_body(request: Request, settings: Settings) -> tuple[bytes, str]:
    """Read a CSV or JSON upload within the import size limit."""
    content_type = request.headers.get("content-type", "")
    if not any(t in content_type for t in ("text/csv", "application/json")):
        raise UnsupportedMediaType("Envoyez du CSV (text/csv) ou du JSON (application/json).",
                             detail_en="Send CSV (text/csv) or JSON (application/json).")
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("Fichier non UTF-8.", detail_en="File is not UTF-8.") from exc
    return body, content_type
