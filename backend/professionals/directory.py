"""Professional directory import (RPPS, profession, specialty, structure with FINESS)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from backend.core import database
from backend.core.auth import utcnow
from backend.core.bulk import RowResult
from backend.core.errors import CarnetError, InvalidRequest
from backend.core.settings import Settings
from backend.professionals.identifiers import validate_finess, validate_rpps
from backend.professionals.tables import Professional

PROFESSIONS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "professions.json").read_text()
)["professions"]


class DirectoryRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rpps: str
    last_name: str
    first_name: str
    profession_code: str
    structure_name: str
    finess: str
    specialty: str | None = None
    email: str | None = None


def _validate(raw: Any) -> DirectoryRow:
    if not isinstance(raw, dict):
        raise InvalidRequest("ligne illisible : objet attendu")
    try:
        row = msgspec.convert(raw, DirectoryRow, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"champ invalide : {exc}") from exc
    row.rpps = validate_rpps(row.rpps)
    row.finess = validate_finess(row.finess)
    if row.profession_code not in PROFESSIONS:
        raise InvalidRequest(
            f"profession_code : code inconnu « {row.profession_code} » "
            f"(connus : {', '.join(sorted(PROFESSIONS))})"
        )
    return row


# Opens a new professional's login account and returns its activation code. Accounts sit
# above this slice, so the composition (app.py, cli.py, demo.py) hands it in.
AccountOpener = Callable[[Settings, UUID, str], Awaitable[str]]


async def import_directory(settings: Settings, raw_rows: list[Any],
                           open_account: AccountOpener) -> list[RowResult]:
    """Create or update professionals; a new one also gets its (not yet usable) login account,
    in the same transaction."""
    results = []
    for index, raw in enumerate(raw_rows, start=1):
        try:
            row = _validate(raw)
            values = msgspec.structs.asdict(row)
            async with database.transaction():
                existing = await Professional.select().where(Professional.rpps == row.rpps).first()
                if existing is None:
                    pro_id = (await Professional.insert(Professional(**values)).returning(
                        Professional.id))[0]["id"]
                    code = await open_account(settings, pro_id, row.rpps)
                    status = "created"
                else:
                    pro_id = existing["id"]
                    code = None
                    changed = {k: v for k, v in values.items() if existing[k] != v}
                    status = "updated" if changed else "unchanged"
                    if changed:
                        await Professional.update({**changed, "updated_at": utcnow()}).where(
                            Professional.id == pro_id)
            results.append(RowResult(row=index, status=status, person_id=str(pro_id),
                                     activation_code=code))
        except CarnetError as exc:
            results.append(RowResult(row=index, status="rejected", reason=str(exc.detail)))
    return results


async def by_rpps(rpps: str) -> dict | None:
    """Id, names, profession code and structure of the professional with this RPPS, or ``None``."""
    return await Professional.select(Professional.id, Professional.first_name, Professional.last_name,
                                     Professional.profession_code, Professional.structure_name).where(
        Professional.rpps == rpps).first()


async def label(professional_id: Any) -> str:
    """"First name LAST NAME (structure)": how a professional is named in an access history."""
    pro = await Professional.select().where(Professional.id == professional_id).first()
    return f"{pro['first_name']} {pro['last_name']} ({pro['structure_name']})"


async def pro_profile(professional_id: Any) -> dict:
    row = await Professional.select().where(Professional.id == professional_id).first()
    return {
        "id": row["id"],
        "rpps": row["rpps"],
        "national_id": "8" + row["rpps"],
        "last_name": row["last_name"],
        "first_name": row["first_name"],
        "profession_code": row["profession_code"],
        "profession": PROFESSIONS[row["profession_code"]]["fr"],
        "specialty": row["specialty"],
        "structure_name": row["structure_name"],
        "finess": row["finess"],
    }
