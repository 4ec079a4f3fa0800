"""Insurer registry import: insured persons, their rights and beneficiaries, from CSV or JSON."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

import msgspec

from backend.core import bulk, database
from backend.core.auth import utcnow
from backend.core.bulk import RowResult
from backend.core.crypto import keyed_hash, new_code, normalise_code
from backend.core.errors import CarnetError, InvalidRequest
from backend.core.settings import Settings
from backend.identity.identifiers import validate_identity_status, validate_nir
from backend.identity.tables import ActivationCode, Guardianship, InsuredPerson

LIST_FIELDS = ("first_names", "parent_nirs")
PERSON_FIELDS = (
    "identity_status", "birth_name", "first_names", "first_name", "used_name", "birth_date", "sex",
    "birthplace_code", "email", "amo_regime", "amo_caisse", "amo_caisse_code", "amo_rights_start",
    "amo_rights_end", "amc_organisation", "amc_number", "amc_contract", "amc_tpp_start", "amc_tpp_end",
)


class RegistryRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One insured person as the compulsory insurer sends it."""

    nir: str
    identity_status: str
    birth_name: str = msgspec.field()
    first_names: list[str]
    birth_date: date
    sex: Literal["M", "F"]
    birthplace_code: str
    amo_regime: str
    amo_caisse: str
    amo_caisse_code: str
    amo_rights_start: date
    amo_rights_end: date | None = None
    used_name: str | None = None
    email: str | None = None
    amc_organisation: str | None = None
    amc_number: str | None = None
    amc_contract: str | None = None
    amc_tpp_start: date | None = None
    amc_tpp_end: date | None = None
    parent_nirs: list[str] = []


def parse_rows(payload: bytes, content_type: str) -> list[dict[str, Any]]:
    """Read CSV (header row, ``;`` or ``,`` separated, lists space separated) or a JSON array."""
    return bulk.parse_rows(payload, content_type, LIST_FIELDS)


def _reason(exc: Exception) -> str:
    if isinstance(exc, CarnetError):
        return str(exc.detail)
    return str(exc)


def _validate(raw: Any) -> RegistryRow:
    if not isinstance(raw, dict):
        raise InvalidRequest("ligne illisible : objet attendu")
    try:
        row = msgspec.convert(raw, RegistryRow, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"champ invalide : {exc}") from exc
    row.nir = validate_nir(row.nir)
    validate_identity_status(row.identity_status)
    row.parent_nirs = [validate_nir(n, field="parent_nirs") for n in row.parent_nirs]
    if not row.first_names:
        raise InvalidRequest("first_names : au moins un prénom de naissance est requis")
    if row.nir[0] in "12" and row.sex != ("M" if row.nir[0] == "1" else "F"):
        raise InvalidRequest(f"sex : {row.sex} ne correspond pas au premier chiffre du NIR ({row.nir[0]})")
    if row.birth_date > date.today():
        raise InvalidRequest("birth_date : date de naissance dans le futur")
    if row.amo_rights_end and row.amo_rights_end < row.amo_rights_start:
        raise InvalidRequest("amo_rights_end : fin des droits avant leur début")
    return row


def _values(row: RegistryRow) -> dict[str, Any]:
    values = {f: getattr(row, f) for f in PERSON_FIELDS if f != "first_name"}
    values["first_name"] = row.first_names[0]
    return values


async def issue_activation_code(
    settings: Settings, person_id: Any = None, code: str | None = None, professional_id: Any = None
) -> str:
    """Issue a one-time activation code (stored as a keyed hash, expiring)."""
    code = code or new_code()
    await ActivationCode.insert(
        ActivationCode(
            person=person_id,
            professional=professional_id,
            code_hash=keyed_hash(settings.secrets.hmac_key, f"code:{normalise_code(code)}"),
            expires_at=utcnow() + timedelta(days=settings.activation_code_days),
        )
    )
    return code


async def _import_one(settings: Settings, row: RegistryRow, codes: dict[str, str]) -> RowResult:
    async with database.transaction():
        parents = []
        for parent_nir in row.parent_nirs:
            parent = await InsuredPerson.select(InsuredPerson.id).where(
                InsuredPerson.nir == parent_nir
            ).first()
            if parent is None:
                raise InvalidRequest(f"parent_nirs : parent {parent_nir[:5]}… inconnu du registre")
            parents.append(parent["id"])
        existing = await InsuredPerson.select().where(InsuredPerson.nir == row.nir).first()
        values = _values(row)
        if existing is None:
            person_id = (
                await InsuredPerson.insert(InsuredPerson(nir=row.nir, **values)).returning(InsuredPerson.id)
            )[0]["id"]
            status = "created"
            code = await issue_activation_code(settings, person_id, codes.get(row.nir))
        else:
            person_id = existing["id"]
            changed = {k: v for k, v in values.items() if existing.get(k) != v}
            status = "updated" if changed else "unchanged"
            if changed:
                changed["updated_at"] = utcnow()
                await InsuredPerson.update(changed).where(InsuredPerson.id == person_id)
            code = None
        linked = await Guardianship.select(Guardianship.parent).where(Guardianship.child == person_id)
        known = {r["parent"] for r in linked}
        for parent_id in parents:
            if parent_id not in known:
                await Guardianship.insert(Guardianship(parent=parent_id, child=person_id))
                if status == "unchanged":
                    status = "updated"
    return RowResult(row=0, status=status, person_id=str(person_id), nir=row.nir, activation_code=code)


async def import_registry(
    settings: Settings, raw_rows: list[Any], codes: dict[str, str] | None = None
) -> list[RowResult]:
    """Import rows one transaction each; a bad row is reported and never aborts the others.

    Parents are imported before the children that reference them.

    Args:
        settings: runtime settings (keys for hashing activation codes).
        raw_rows: decoded rows (dicts).
        codes: fixed activation codes by NIR (demo seeding only).
    """
    results: list[RowResult] = []
    validated: list[tuple[int, RegistryRow]] = []
    for index, raw in enumerate(raw_rows, start=1):
        try:
            validated.append((index, _validate(raw)))
        except Exception as exc:  # noqa: BLE001 - every failure is reported per row
            results.append(RowResult(row=index, status="rejected", reason=_reason(exc)))
    validated.sort(key=lambda item: (bool(item[1].parent_nirs), item[0]))
    for index, row in validated:
        try:
            result = await _import_one(settings, row, codes or {})
            result.row = index
        except CarnetError as exc:
            result = RowResult(row=index, status="rejected", nir=row.nir, reason=_reason(exc))
        results.append(result)
    results.sort(key=lambda r: r.row)
    return results
