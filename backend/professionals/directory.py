"""Professional directory: the import (RPPS, profession, specialty, structure with FINESS), the
structures professionals work in, and the search other slices use to find a pharmacy."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import msgspec

from backend.core import database
from backend.core.auth import utcnow
from backend.core.bulk import RowResult
from backend.core.errors import CarnetError, InvalidRequest, schema_message_fr
from backend.core.settings import Settings
from backend.core.text import fold, like_contains
from backend.professionals.identifiers import validate_finess, validate_rpps
from backend.professionals.tables import Professional, Structure

PROFESSIONS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "professions.json").read_text()
)["professions"]

# Kinds of structure: a pharmacy (officine), a practice (cabinet), a hospital, an imaging centre.
KINDS = ("pharmacy", "practice", "hospital", "imaging")
DEFAULT_KIND = "practice"
# A postcode: 5 digits, or a Corsican department (2A, 2B) and 3 digits.
POSTCODE = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
MAX_SEARCH_LIMIT = 100
STRUCTURE_KEYS = ("id", "finess", "kind", "name", "address", "postcode", "commune", "opening_hours")
_COLUMNS = ", ".join(f"s.{key}" for key in STRUCTURE_KEYS)


def _at_most(length: int) -> msgspec.Meta:
    return msgspec.Meta(max_length=length)


class DirectoryRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rpps: Annotated[str, _at_most(30)]
    last_name: Annotated[str, _at_most(100)]
    first_name: Annotated[str, _at_most(100)]
    profession_code: Annotated[str, _at_most(4)]
    structure_name: Annotated[str, _at_most(200)]
    finess: Annotated[str, _at_most(20)]
    specialty: Annotated[str, _at_most(100)] | None = None
    email: Annotated[str, _at_most(254)] | None = None
    # The structure (FINESS). A field left out keeps what the structure already has; a new
    # structure is a practice with an empty address until a row says more.
    structure_kind: Annotated[str, _at_most(20)] | None = None
    address: Annotated[str, _at_most(200)] | None = None
    postcode: Annotated[str, _at_most(10)] | None = None
    commune: Annotated[str, _at_most(100)] | None = None
    opening_hours: Annotated[str, _at_most(200)] | None = None


PROFESSIONAL_FIELDS = ("rpps", "last_name", "first_name", "profession_code", "structure_name", "finess",
                       "specialty", "email")
# Structure column -> the import field that gives it.
STRUCTURE_FIELDS = {"name": "structure_name", "kind": "structure_kind", "address": "address",
                    "postcode": "postcode", "commune": "commune", "opening_hours": "opening_hours"}


def _refused(field: str, rule: str, fr: str, en: str) -> InvalidRequest:
    return InvalidRequest(fr, detail_en=en, errors=[{"field": field, "rule": rule, "message": fr,
                                                     "message_en": en}])


def _validate(raw: Any) -> DirectoryRow:
    if not isinstance(raw, dict):
        raise InvalidRequest("ligne illisible : objet attendu", detail_en="unreadable row: object expected")
    try:
        row = msgspec.convert(raw, DirectoryRow, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"champ invalide : {schema_message_fr(str(exc))}",
                             detail_en=f"invalid field: {exc}") from exc
    row.rpps = validate_rpps(row.rpps)
    row.finess = validate_finess(row.finess)
    if row.profession_code not in PROFESSIONS:
        raise InvalidRequest(
            f"profession_code : code inconnu « {row.profession_code} » "
            f"(connus : {', '.join(sorted(PROFESSIONS))})",
            detail_en=f"profession_code: unknown code '{row.profession_code}' "
                      f"(known: {', '.join(sorted(PROFESSIONS))})")
    row.structure_name = row.structure_name.strip()
    if not row.structure_name:
        raise _refused("structure_name", "required", "structure_name : nom de la structure vide.",
                       "structure_name: the structure's name is empty.")
    if row.structure_kind is not None:
        row.structure_kind = row.structure_kind.strip().lower()
        if row.structure_kind not in KINDS:
            known = ", ".join(sorted(KINDS))
            raise _refused("structure_kind", "enum",
                           f"structure_kind : type de structure inconnu « {row.structure_kind} » "
                           f"(connus : {known}).",
                           f"structure_kind: unknown kind of structure '{row.structure_kind}' "
                           f"(known: {known}).")
    if row.postcode is not None:
        row.postcode = row.postcode.replace(" ", "").upper() or None  # blank: not given
        if row.postcode is not None and not POSTCODE.match(row.postcode):
            raise _refused("postcode", "format",
                           f"postcode : code postal invalide « {row.postcode} » : 5 chiffres attendus "
                           "(ou 2A/2B suivi de 3 chiffres en Corse).",
                           f"postcode: invalid postcode '{row.postcode}': 5 digits expected "
                           "(or 2A/2B followed by 3 digits in Corsica).")
    for name in ("address", "commune"):
        if getattr(row, name) is not None:
            setattr(row, name, getattr(row, name).strip())
    if row.opening_hours is not None:
        row.opening_hours = row.opening_hours.strip() or None
    return row


# --- search ---------------------------------------------------------------------------------

_NOT_A_WORD = re.compile(r"[\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def search_key(text: str) -> str:
    """``text`` folded for search: lower case, no accents, ligatures spelt out, and every
    hyphen, apostrophe or other punctuation a space (``"l'Église Saint-Étienne"`` →
    ``"l eglise saint etienne"``)."""
    return " ".join(_NOT_A_WORD.sub(" ", fold(text).translate(_LIGATURES)).split())


def structure_search_text(name: str, commune: str, postcode: str) -> str:
    """What a structure is searched by: its name, commune and postcode."""
    return " ".join(part for part in (search_key(name), search_key(commune), search_key(postcode)) if part)


def _uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _structure(row: dict) -> dict:
    out = {key: row[key] for key in STRUCTURE_KEYS}
    out["id"] = UUID(str(row["id"]))
    return out


async def search_structures(q: str, kind: str | None = "pharmacy", limit: int = 20) -> list[dict]:
    """Structures whose name, commune or postcode match ``q``, ordered by name.

    Accents, case, hyphens and apostrophes are ignored, and every word of ``q``
    must appear (``"saint etienne"`` finds a pharmacy of Saint-Étienne,
    ``"eglise 42000"`` the Pharmacie de l'Église there). ``kind`` keeps one kind
    (pharmacies by default); ``None`` searches every kind. At most ``limit``
    structures (capped at 100), each with ``STRUCTURE_KEYS``.
    """
    if kind is not None and kind not in KINDS:
        raise _refused("kind", "enum", f"Type de structure inconnu « {kind[:20]} ».",
                       f"Unknown kind of structure '{kind[:20]}'.")
    words = list(dict.fromkeys(search_key(q).split()))
    if not words:
        return []
    clauses = ["s.search_text LIKE {} ESCAPE '\\'"] * len(words)
    args: list[Any] = [like_contains(word) for word in words]
    if kind is not None:
        clauses.insert(0, "s.kind = {}")
        args.insert(0, kind)
    # By the folded name (the search text starts with it), byte order on both databases.
    order = 's.search_text COLLATE "C"' if database.dialect() == "postgres" else "s.search_text"
    rows = await database.fetch(
        f"SELECT {_COLUMNS} FROM structure s WHERE {' AND '.join(clauses)} "  # noqa: S608 - fixed text
        f"ORDER BY {order}, s.id LIMIT {{}}", *args, max(1, min(int(limit), MAX_SEARCH_LIMIT)))
    return [_structure(row) for row in rows]


async def get_structure(structure_id: Any) -> dict | None:
    """One structure (``STRUCTURE_KEYS``), or ``None``."""
    sid = _uuid(structure_id)
    if sid is None:
        return None
    rows = await database.fetch(f"SELECT {_COLUMNS} FROM structure s WHERE s.id = {{}}", sid)  # noqa: S608
    return _structure(rows[0]) if rows else None


async def structure_of(professional_id: Any) -> dict | None:
    """The structure a professional works in (``STRUCTURE_KEYS``), or ``None``."""
    pid = _uuid(professional_id)
    if pid is None:
        return None
    rows = await database.fetch(
        f"SELECT {_COLUMNS} FROM structure s JOIN professional p ON p.finess = s.finess "  # noqa: S608
        "WHERE p.id = {}", pid)
    return _structure(rows[0]) if rows else None


async def members(structure_id: Any) -> list[dict]:
    """The professionals attached to a structure: id, first_name, last_name, profession_code."""
    sid = _uuid(structure_id)
    if sid is None:
        return []
    rows = await database.fetch(
        "SELECT p.id, p.first_name, p.last_name, p.profession_code FROM professional p "
        "JOIN structure s ON s.finess = p.finess WHERE s.id = {} "
        "ORDER BY p.last_name, p.first_name, p.id", sid)
    return [{**row, "id": UUID(str(row["id"]))} for row in rows]


# --- import ---------------------------------------------------------------------------------

# Opens a new professional's login account and returns its activation code. Accounts sit
# above this slice, so the composition (app.py, cli.py, demo.py) hands it in.
AccountOpener = Callable[[Settings, UUID, str], Awaitable[str]]


def _structure_values(row: DirectoryRow) -> dict[str, Any]:
    """The structure columns this row gives (the name always; the others when present)."""
    return {column: getattr(row, field) for column, field in STRUCTURE_FIELDS.items()
            if getattr(row, field) is not None}


def _check_consistent(row: DirectoryRow, given: dict[str, Any], seen: dict[str, tuple[int, dict]]) -> None:
    """Two rows of one import that share a FINESS describe the same structure the same way."""
    if row.finess not in seen:
        return
    first, values = seen[row.finess]
    clash = [STRUCTURE_FIELDS[c] for c, v in given.items() if c in values and values[c] != v]
    if clash:
        names = ", ".join(clash)
        raise _refused(clash[0], "consistency",
                       f"FINESS {row.finess} : {names} diffère de la ligne {first} pour la même structure.",
                       f"FINESS {row.finess}: {names} differs from row {first} for the same structure.")


async def _upsert_structure(finess: str, given: dict[str, Any]) -> bool:
    """Create or update the structure with this FINESS; True when something was written."""
    existing = await Structure.select().where(Structure.finess == finess).first()
    if existing is None:
        values = {"kind": DEFAULT_KIND, "address": "", "postcode": "", "commune": "", **given}
        await Structure.insert(Structure(
            finess=finess, **values,
            search_text=structure_search_text(values["name"], values["commune"], values["postcode"])))
        return True
    changed = {column: value for column, value in given.items() if existing[column] != value}
    if changed:
        merged = {**existing, **changed}
        changed["search_text"] = structure_search_text(merged["name"], merged["commune"], merged["postcode"])
        await Structure.update({**changed, "updated_at": utcnow()}).where(Structure.id == existing["id"])
    return bool(changed)


async def import_directory(settings: Settings, raw_rows: list[Any],
                           open_account: AccountOpener) -> list[RowResult]:
    """Create or update professionals and their structures, one result per row.

    A new professional also gets their (not yet usable) login account; the
    structure is created or updated by FINESS; all three in one transaction.
    A row is ``updated`` when the professional or the structure changed,
    ``unchanged`` when neither did. Rows of one import that share a FINESS must
    agree on the structure's fields they give, else the later one is rejected.
    """
    results = []
    seen: dict[str, tuple[int, dict]] = {}  # FINESS -> (first row naming it, structure fields given)
    for index, raw in enumerate(raw_rows, start=1):
        try:
            row = _validate(raw)
            values = {name: getattr(row, name) for name in PROFESSIONAL_FIELDS}
            given = _structure_values(row)
            _check_consistent(row, given, seen)
            async with database.transaction():
                structure_changed = await _upsert_structure(row.finess, given)
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
                    status = "updated" if changed or structure_changed else "unchanged"
                    if changed:
                        await Professional.update({**changed, "updated_at": utcnow()}).where(
                            Professional.id == pro_id)
            first, before = seen.get(row.finess, (index, {}))
            seen[row.finess] = (first, {**before, **given})
            results.append(RowResult(row=index, status=status, person_id=str(pro_id),
                                     activation_code=code))
        except CarnetError as exc:
            results.append(RowResult(row=index, status="rejected", reason=str(exc.detail)))
    return results


# --- professionals --------------------------------------------------------------------------


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
        "structure": await structure_of(professional_id),
    }
