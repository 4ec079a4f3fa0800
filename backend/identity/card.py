"""The card's data (appli carte Vitale): identity, INS, insurance, beneficiaries, and the stored
presentation tokens. Who may see or present it is decided above, in ``backend/card``."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from backend.core import database
from backend.core.auth import utcnow
from backend.core.errors import NotFound
from backend.core.settings import Settings
from backend.identity.identifiers import build_ins, mask_nir
from backend.identity.tables import Presentation


def _active(start: date | None, end: date | None, today: date) -> bool:
    return start is not None and start <= today and (end is None or today <= end)


def card_view(settings: Settings, p: dict, beneficiaries: list[dict]) -> dict:
    """Shape a person row into the card: identity, INS, AMO and AMC, beneficiaries."""
    today = date.today()
    ins = build_ins(p["nir"], settings.ins_oid, p["identity_status"])
    amc = None
    if p["amc_organisation"]:
        amc = {
            "organisation": p["amc_organisation"],
            "number": p["amc_number"],
            "contract": p["amc_contract"],
            "third_party_payment_start": p["amc_tpp_start"],
            "third_party_payment_end": p["amc_tpp_end"],
            "third_party_payment_active": _active(p["amc_tpp_start"], p["amc_tpp_end"], today),
        }
    return {
        "id": p["id"],
        "identity": {
            "birth_name": p["birth_name"],
            "used_name": p["used_name"],
            "first_names": list(p["first_names"]),
            "first_name": p["first_name"],
            "birth_date": p["birth_date"],
            "sex": p["sex"],
            "birthplace_code": p["birthplace_code"],
        },
        "nir": p["nir"],
        "nir_masked": mask_nir(p["nir"]),
        "ins": {"value": ins.value, "oid": ins.oid, "identity_status": p["identity_status"],
                "usable": ins.usable},
        "amo": {
            "regime": p["amo_regime"],
            "caisse": p["amo_caisse"],
            "caisse_code": p["amo_caisse_code"],
            "rights_start": p["amo_rights_start"],
            "rights_end": p["amo_rights_end"],
            "rights_active": _active(p["amo_rights_start"], p["amo_rights_end"], today),
        },
        "amc": amc,
        "beneficiaries": beneficiaries,
    }


_CARD_COLUMNS = (
    "p.id, p.nir, p.identity_status, p.birth_name, p.first_names, p.first_name, p.used_name, p.birth_date, "
    "p.sex, p.birthplace_code, p.amo_regime, p.amo_caisse, p.amo_caisse_code, p.amo_rights_start, "
    "p.amo_rights_end, p.amc_organisation, p.amc_number, p.amc_contract, p.amc_tpp_start, p.amc_tpp_end"
)
# The card and its beneficiaries in one round trip; JSON aggregation differs by dialect.
_BENEFICIARIES = {
    "sqlite": "(SELECT json_group_array(json_object('id', c.id, 'first_name', c.first_name, "
              "'birth_name', c.birth_name, 'birth_date', c.birth_date)) FROM (SELECT x.* FROM guardianship g "
              "JOIN insured_person x ON x.id = g.child WHERE g.parent = p.id ORDER BY x.birth_date) c)",
    "postgres": "(SELECT COALESCE(json_agg(json_build_object('id', c.id, 'first_name', c.first_name, "
                "'birth_name', c.birth_name, 'birth_date', c.birth_date) ORDER BY c.birth_date), '[]')::text "
                "FROM guardianship g JOIN insured_person c ON c.id = g.child WHERE g.parent = p.id)",
}
_CARD_SQL = {
    dialect: f"SELECT {_CARD_COLUMNS}, {sub} AS beneficiaries_json FROM insured_person p "  # noqa: S608
             "WHERE p.id = {} AND p.closed_at IS NULL"
    for dialect, sub in _BENEFICIARIES.items()
}


async def person_card(person_id: UUID) -> dict:
    """The person's card fields, with ``beneficiaries`` (children, by birth date)."""
    rows = await database.fetch(_CARD_SQL[database.dialect()], person_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    row["beneficiaries"] = msgspec.json.decode(row.pop("beneficiaries_json") or "[]")
    return row


async def store_presentation(jti: str, person_id: UUID, presenter_account: UUID | None,
                             delegation_id: UUID | None, expires_at: datetime) -> None:
    await Presentation.insert(Presentation(jti=jti, person=person_id, presenter_account=presenter_account,
                                           delegation=delegation_id, expires_at=expires_at))


async def find_presentation(jti: str) -> dict | None:
    """The stored presentation of a token (person, delegation, used_at), or ``None``."""
    return await Presentation.select().where(Presentation.jti == jti).first()


async def mark_presentation_used(presentation_id: UUID, professional_id: UUID) -> bool:
    """Spend a presentation; ``False`` when another check (on any process) spent it first."""
    unused = (Presentation.id == presentation_id) & Presentation.used_at.is_null()
    won = await Presentation.update({Presentation.used_at: utcnow(), Presentation.used_by: professional_id}
                                    ).where(unused).returning(Presentation.id)
    return bool(won)
