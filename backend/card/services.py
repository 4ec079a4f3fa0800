"""The card as people use it: seen by its holder, a parent or a delegate, presented as a
single-use QR code, and checked by a professional; each step under the access rules and in
the access history."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from backend.access import history
from backend.access.rules import delegation_in_force, relation_to
from backend.core import database
from backend.core.auth import Actor
from backend.core.errors import InvalidToken
from backend.core.names import display_name
from backend.core.qr import svg_qr
from backend.core.settings import Settings
from backend.core.tokens import TokenSigner
from backend.identity.card import (
    card_view,
    find_presentation,
    mark_presentation_used,
    person_card,
    store_presentation,
)
from backend.professionals import directory

PRESENTATION = "carnet-card-presentation"


async def get_card(settings: Settings, actor: Actor, person_id: UUID) -> dict:
    """The card of a profile the actor may see (self, child, or delegated card)."""
    relation = await relation_to(actor, person_id, scope="present_card")
    person = await person_card(person_id)
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
    await person_card(person_id)
    token, jti, exp = signer(settings).issue(
        PRESENTATION, str(person_id), settings.presentation_seconds
    )
    await store_presentation(jti, person_id, actor.account_id, relation.delegation_id,
                             datetime.fromtimestamp(exp, UTC))
    if relation.kind == "delegate":
        label = await display_name(actor)
        await history.record(person_id, actor_kind="delegate", actor_id=actor.person_id,
                             actor_label=label, action="card.present")
        await history.notify(person_id, "notice.card_presented", f"{label} a présenté votre carte.",
                             f"{label} presented your card.")
    return {"token": token, "qr": svg_qr(token), "expires_at": datetime.fromtimestamp(exp, UTC)}


async def verify_presentation(settings: Settings, actor: Actor, token: str) -> dict:
    """A professional checks a presented token: identity traits, INS and rights.

    Refused with a clear reason when forged, expired, replayed, or when the
    delegation it was issued under has been revoked since.
    """
    pro_label = await directory.label(actor.professional_id)
    claims = signer(settings).verify(token, PRESENTATION)
    refusal: tuple[str, str, str] | None = None  # history reason code, French, English
    async with database.transaction():
        row = await find_presentation(claims["jti"])
        if row is None:
            raise InvalidToken("Jeton inconnu.", detail_en="Unknown token.")
        person_id = row["person"]
        used = ("token-used", "Jeton déjà utilisé : demandez au patient d'en afficher un nouveau.",
                "Token already used: ask the patient to show a new one.")
        if row["used_at"] is not None:
            refusal = used
        elif row["delegation"] is not None and not await delegation_in_force(row["delegation"]):
            refusal = ("delegation-ended", "Délégation révoquée ou expirée : ce jeton n'est plus valable.",
                       "Delegation revoked or expired: this token is no longer valid.")
        elif not await mark_presentation_used(row["id"], actor.professional_id):
            refusal = used  # checked at the same moment on another process, which won
        await history.record(
            person_id, actor_kind="pro", actor_id=actor.professional_id, actor_label=pro_label,
            action="card.verify", outcome="refused" if refusal else "allowed",
            purpose=refusal[0] if refusal else "",
        )
    if refusal:
        raise InvalidToken(refusal[1], detail_en=refusal[2])
    person = await person_card(person_id)
    view = card_view(settings, person, [])
    return {
        "identity": view["identity"],
        "ins": view["ins"],
        "amo": view["amo"],
        "amc": view["amc"],
        "presented_by_delegate": row["delegation"] is not None,
    }
