"""Operator import of documents (e.g. an insurer's reimbursement history) from a JSON manifest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from backend.core.errors import CarnetError
from backend.core.settings import Settings
from backend.documents import audit
from backend.documents.ingest import Submission, ingest
from backend.documents.policy import operator_policy
from backend.documents.repository import DocumentRepository
from backend.documents.services import blob_store, match_identity, require_qualified, traits_mismatch


async def _import_one(settings: Settings, folder: Path, entry: dict) -> dict:
    traits = {"birth_name": entry["birth_name"], "first_name": entry["first_name"],
              "birth_date": date.fromisoformat(entry["birth_date"]), "sex": entry["sex"]}
    person = await match_identity(entry["ins"], traits)
    if person is None:
        raise ValueError("unknown INS")
    if wrong := traits_mismatch(person, traits):
        raise ValueError(f"identity traits differ: {', '.join(wrong)}")
    require_qualified(person)
    path = (folder / entry["file"]).resolve()
    if folder.resolve() not in path.parents:
        raise ValueError("file outside the manifest's folder")
    repo = DocumentRepository(operator_policy(person["id"]))
    with path.open("rb") as body:
        row = await ingest(settings, blob_store(settings), repo, audit.OPERATOR, Submission(
            body=body, filename=path.name, title=entry["title"], type_code=entry["type_code"],
            care_date=date.fromisoformat(entry["care_date"]), author_label=entry["author"],
            added_by=entry["author"], source="operator"))
    return {"status": "created", "document": row["id"]}


async def import_documents(settings: Settings, manifest: Path) -> list[dict]:
    """Feed each listed file: ``[{"ins", "birth_name", "first_name", "birth_date", "sex", "file",
    "type_code", "title", "care_date", "author"}]``; file paths are relative to the manifest.

    Each entry goes through the same pipeline as a professional feed (INS + strict
    traits, type and title, format by content, duplicates, audit) and is reported;
    a bad entry never stops the others.
    """
    report = []
    for index, entry in enumerate(json.loads(manifest.read_text()), start=1):
        try:
            report.append({"row": index, **await _import_one(settings, manifest.parent, entry)})
        except CarnetError as exc:
            report.append({"row": index, "status": "rejected", "reason": str(exc.detail)})
        except (KeyError, ValueError, TypeError, OSError) as exc:
            report.append({"row": index, "status": "rejected", "reason": f"{type(exc).__name__}: {exc}"})
    return report
