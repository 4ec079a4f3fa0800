"""The card (appli carte Vitale): identity, INS, insurance, beneficiaries, presentation QR."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import msgspec

from backend.access import history
from backend.access.rules import delegation_in_force, relation_to
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import InvalidToken, NotFound
from backend.core.names import display_name
from backend.core.qr import svg_qr
from backend.core.settings import Settings
from backend.core.tokens import TokenSigner
from backend.identity.identifiers import build_ins, mask_nir
from backend.identity.tables import Presentation
from backend.professionals import directory

PRESENTATION = "carnet-card-presentation"


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


async def _person(person_id: UUID) -> dict:
    """The person's card fields, with ``beneficiaries`` (children, by birth date)."""
    rows = await database.fetch(_CARD_SQL[database.dialect()], person_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    row["beneficiaries"] = msgspec.json.decode(row.pop("beneficiaries_json") or "[]")
    return row


async def get_card(settings: Settings, actor: Actor, person_id: UUID) -> dict:
    """The card of a profile the actor may see (self, child, or delegated card)."""
    relation = await relation_to(actor, person_id, scope="present_card")
    person = await _person(person_id)
    beneficiaries = person["beneficiaries"] if relation.kind != "delegate" else []
    if not relation.is_self:
        await history.record(
            person_id, actor_kind=relation.kind, actor_id=actor.person_id,
            actor_label=await display_name(actor), action="card.read",
        )
    return {**card_view(settings, person, beneficiaries), "relation": relation.kind}


def signer(settings: Settings) -> TokenSigner:
    return TokenSigner(settings.secrets.token_signing_key, settings.public_url)


async def present(settings: Settings, actor: Actor, person_id: UUID) -> dict:
    """Issue a short-lived, single-use presentation token and its QR code."""
    relation = await relation_to(actor, person_id, scope="present_card")
    await _person(person_id)
    token, jti, exp = signer(settings).issue(
        PRESENTATION, str(person_id), settings.presentation_seconds
    )
    await Presentation.insert(
        Presentation(
            jti=jti,
            person=person_id,
            presenter_account=actor.account_id,
            delegation=relation.delegation_id,
            expires_at=datetime.fromtimestamp(exp, UTC),
        )
    )
    if relation.kind == "delegate":
        await history.record(
            person_id, actor_kind="delegate", actor_id=actor.person_id,
            actor_label=await display_name(actor), action="card.present",
        )
    return {"token": token, "qr": svg_qr(token), "expires_at": datetime.fromtimestamp(exp, UTC)}


async def verify_presentation(settings: Settings, actor: Actor, token: str) -> dict:
    """A professional checks a presented token: identity traits, INS and rights.

    Refused with a clear reason when forged, expired, replayed, or when the
    delegation it was issued under has been revoked since.
    """
    pro_label = await directory.label(actor.professional_id)
    claims = signer(settings).verify(token, PRESENTATION)
    refusal: tuple[str, str] | None = None
    async with database.transaction():
        row = await Presentation.select().where(Presentation.jti == claims["jti"]).first()
        if row is None:
            raise InvalidToken("Jeton inconnu.", detail_en="Unknown token.")
        person_id = row["person"]
        if row["used_at"] is not None:
            refusal = ("Jeton déjà utilisé : demandez au patient d'en afficher un nouveau.",
                       "Token already used: ask the patient to show a new one.")
        elif row["delegation"] is not None and not await delegation_in_force(row["delegation"]):
            refusal = ("Délégation révoquée ou expirée : ce jeton n'est plus valable.",
                       "Delegation revoked or expired: this token is no longer valid.")
        else:
            await Presentation.update(
                {Presentation.used_at: utcnow(), Presentation.used_by: actor.professional_id}
            ).where(Presentation.id == row["id"])
        await history.record(
            person_id, actor_kind="pro", actor_id=actor.professional_id, actor_label=pro_label,
            action="card.verify", outcome="refused" if refusal else "allowed",
            purpose=refusal[1] if refusal else "",
        )
    if refusal:
        raise InvalidToken(refusal[0], detail_en=refusal[1])
    person = await _person(person_id)
    view = card_view(settings, person, [])
    return {
        "identity": view["identity"],
        "ins": view["ins"],
        "amo": view["amo"],
        "amc": view["amc"],
        "presented_by_delegate": row["delegation"] is not None,
    }
