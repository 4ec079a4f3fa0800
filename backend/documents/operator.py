"""Operator import of documents (e.g. an insurer's reimbursement history) from a JSON manifest."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from backend.core.errors import CarnetError
from backend.core.settings import Settings
from backend.documents.sanitise import sanitise_upload
from backend.documents.services import (
    _store_document,
    check_type,
    fold,
    identify_patient,
    refuse_duplicate,
)


async def import_documents(settings: Settings, manifest: Path) -> list[dict]:
    """Feed each listed file: ``[{"ins", "birth_name", "first_name", "birth_date", "sex", "file",
    "type_code", "title", "care_date", "author"}]``; file paths are relative to the manifest.

    Each entry is validated like a professional feed (INS + strict traits, format by content)
    and reported; a bad entry never stops the others.
    """
    import json

    report = []
    for index, entry in enumerate(json.loads(manifest.read_text()), start=1):
        try:
            type_info = check_type(entry["type_code"])
            person = await identify_patient(entry["ins"], {
                "birth_name": entry["birth_name"], "first_name": entry["first_name"],
                "birth_date": date.fromisoformat(entry["birth_date"]), "sex": entry["sex"]})
            path = (manifest.parent / entry["file"]).resolve()
            if manifest.parent.resolve() not in path.parents:
                raise ValueError("file outside the manifest's folder")
            clean = sanitise_upload(path.read_bytes(), path.name, settings.max_document_bytes)
            await refuse_duplicate(person["id"], clean.data)
            values = {
                "person": person["id"], "type_code": entry["type_code"], "category": type_info["category"],
                "title": entry["title"], "search_text": fold(entry["title"]),
                "care_date": date.fromisoformat(entry["care_date"]), "author_label": entry["author"],
                "source": "operator", "added_by": entry["author"], "media_type": clean.media_type,
                "filename": clean.safe_filename,
            }
            request_hash = hashlib.sha256(clean.data).hexdigest()
            doc_id = await _store_document(settings, values, clean.data, None, request_hash)
            report.append({"row": index, "status": "created", "document": doc_id})
        except CarnetError as exc:
            report.append({"row": index, "status": "rejected", "reason": str(exc.detail)})
        except (KeyError, ValueError, OSError) as exc:
            report.append({"row": index, "status": "rejected", "reason": f"{type(exc).__name__}: {exc}"})
    return report
