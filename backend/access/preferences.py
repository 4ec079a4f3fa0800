"""Citizen access preferences and professional access bases.

Care team (registered GP, granted professionals), blocking, temporary access
codes, emergency access and its opposition, research-use choices, notices.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from backend.access import history
from backend.access.rules import pro_basis, relation_to
from backend.access.tables import (
    Block,
    CareRelation,
    EmergencyAccess,
    Notification,
    ResearchChoice,
    TemporaryAccess,
)
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.crypto import keyed_hash, new_code, normalise_code
from backend.core.errors import CarnetError, Conflict, Forbidden, NotFound, TooManyAttempts, Unprocessable
from backend.core.qr import svg_qr
from backend.core.settings import Settings
from backend.identity import people
from backend.professionals import directory
from backend.professionals.identifiers import validate_rpps

MAX_TEMPORARY_MINUTES = 7 * 24 * 60
REDEEM_WITHIN = timedelta(hours=24)


async def _managed(actor: Actor, person_id: UUID) -> None:
    """Preferences are managed by the citizen, or a parent for a minor."""
    relation = await relation_to(actor, person_id)
    if relation.kind not in ("self", "parent"):
        raise NotFound()


async def _professional_by_rpps(rpps: str) -> dict:
    pro = await directory.by_rpps(validate_rpps(rpps))
    if pro is None:
        raise Unprocessable("Aucun professionnel avec ce RPPS dans l'annuaire.",
                             detail_en="No professional with this RPPS in the directory.",
                             errors=[{"field": "rpps", "rule": "known", "message": "RPPS inconnu",
                                      "message_en": "unknown RPPS"}])
    return pro


def _pro_public(row: dict) -> dict:
    return {"professional_id": row["professional"], "rpps": row["rpps"],
            "name": f"{row['first_name']} {row['last_name']}", "structure": row["structure_name"]}


# --- care team and blocks ----------------------------------------------------------


async def care_team(actor: Actor, person_id: UUID) -> dict:
    await _managed(actor, person_id)
    cols = (CareRelation.professional, CareRelation.professional.rpps.as_alias("rpps"),
            CareRelation.professional.first_name.as_alias("first_name"),
            CareRelation.professional.last_name.as_alias("last_name"),
            CareRelation.professional.structure_name.as_alias("structure_name"))
    relations = await CareRelation.select(*cols, CareRelation.role, CareRelation.created_at).where(
        (CareRelation.person == person_id) & CareRelation.revoked_at.is_null())
    blocks = await Block.select(Block.professional, Block.professional.rpps.as_alias("rpps"),
                                Block.professional.first_name.as_alias("first_name"),
                                Block.professional.last_name.as_alias("last_name"),
                                Block.professional.structure_name.as_alias("structure_name"),
                                Block.created_at).where(Block.person == person_id)
    return {
        "care_team": [{**_pro_public(r), "role": r["role"], "since": r["created_at"]} for r in relations],
        "blocked": [{**_pro_public(r), "since": r["created_at"]} for r in blocks],
    }


async def set_care_relation(actor: Actor, person_id: UUID, rpps: str, role: str) -> None:
    """Declare the registered GP (one at a time) or grant a professional access."""
    await _managed(actor, person_id)
    pro = await _professional_by_rpps(rpps)
    if role == "gp" and pro["profession_code"] != "10":
        raise Unprocessable("Le médecin traitant doit être un médecin.",
                             detail_en="The registered GP must be a physician.")
    async with database.transaction():
        if await Block.exists().where((Block.person == person_id) & (Block.professional == pro["id"])):
            raise Conflict("Ce professionnel est bloqué : débloquez-le d'abord.",
                           detail_en="This professional is blocked: unblock them first.")
        now = utcnow()
        same = CareRelation.person == person_id
        if role == "gp":
            await CareRelation.update({CareRelation.revoked_at: now}).where(
                same & (CareRelation.role == "gp") & CareRelation.revoked_at.is_null())
        await CareRelation.update({CareRelation.revoked_at: now}).where(
            same & (CareRelation.professional == pro["id"]) & CareRelation.revoked_at.is_null())
        await CareRelation.insert(CareRelation(person=person_id, professional=pro["id"], role=role))


async def revoke_care_relation(actor: Actor, person_id: UUID, professional_id: UUID) -> None:
    await _managed(actor, person_id)
    rows = await CareRelation.update({CareRelation.revoked_at: utcnow()}).where(
        (CareRelation.person == person_id) & (CareRelation.professional == professional_id)
        & CareRelation.revoked_at.is_null()).returning(CareRelation.id)
    if not rows:
        raise NotFound()


async def block(actor: Actor, person_id: UUID, rpps: str) -> None:
    """Block a professional: it ends their care relation and any temporary access too."""
    await _managed(actor, person_id)
    pro = await _professional_by_rpps(rpps)
    async with database.transaction():
        if await Block.exists().where((Block.person == person_id) & (Block.professional == pro["id"])):
            return
        now = utcnow()
        await Block.insert(Block(person=person_id, professional=pro["id"]))
        await CareRelation.update({CareRelation.revoked_at: now}).where(
            (CareRelation.person == person_id) & (CareRelation.professional == pro["id"])
            & CareRelation.revoked_at.is_null())


async def unblock(actor: Actor, person_id: UUID, professional_id: UUID) -> None:
    await _managed(actor, person_id)
    rows = await Block.delete().where(
        (Block.person == person_id) & (Block.professional == professional_id)).returning(Block.id)
    if not rows:
        raise NotFound()


# --- temporary access --------------------------------------------------------------


def _temporary_public(row: dict) -> dict:
    now = utcnow()
    state = ("revoked" if row["revoked_at"] else "expired" if row["expires_at"] <= now
             else "used" if row["redeemed_at"] else "pending")
    return {"id": row["id"], "label": row["label"], "created_at": row["created_at"],
            "expires_at": row["expires_at"], "redeemed_at": row["redeemed_at"], "state": state}


async def create_temporary_access(settings: Settings, actor: Actor, person_id: UUID, minutes: int,
                                  label: str) -> dict:
    """A one-time code (and its QR) a professional redeems for access until the chosen end."""
    await _managed(actor, person_id)
    if not 5 <= minutes <= MAX_TEMPORARY_MINUTES:
        raise Unprocessable("Durée invalide : de 5 minutes à 7 jours.",
                             detail_en="Invalid duration: from 5 minutes to 7 days.",
                             errors=[{"field": "minutes", "rule": "range", "message": "hors limites",
                                      "message_en": "out of range"}])
    code = new_code()
    row = await TemporaryAccess.insert(TemporaryAccess(
        person=person_id, label=label.strip()[:100],
        code_hash=keyed_hash(settings.secrets.hmac_key, f"temporary:{normalise_code(code)}"),
        expires_at=utcnow() + timedelta(minutes=minutes),
    )).returning(*TemporaryAccess.all_columns())
    return {**_temporary_public(row[0]), "code": code, "qr": svg_qr(code)}


async def list_temporary_access(actor: Actor, person_id: UUID) -> list[dict]:
    await _managed(actor, person_id)
    rows = await TemporaryAccess.select().where(TemporaryAccess.person == person_id).order_by(
        TemporaryAccess.created_at, ascending=False)
    return [_temporary_public(r) for r in rows]


async def revoke_temporary_access(actor: Actor, access_id: UUID) -> None:
    if actor.person_id is None:
        raise NotFound()
    row = await TemporaryAccess.select(TemporaryAccess.person).where(TemporaryAccess.id == access_id).first()
    if row is None:
        raise NotFound()
    await _managed(actor, row["person"])
    await TemporaryAccess.update({TemporaryAccess.revoked_at: utcnow()}).where(
        TemporaryAccess.id == access_id)


async def redeem_temporary_access(settings: Settings, actor: Actor, code: str, label: str) -> dict:
    """A professional enters the code: access until its end, unless blocked."""
    code_hash = keyed_hash(settings.secrets.hmac_key, f"temporary:{normalise_code(code)}")
    async with database.transaction():
        row = await TemporaryAccess.select().where(TemporaryAccess.code_hash == code_hash).first()
        now = utcnow()
        if (row is None or row["revoked_at"] or row["expires_at"] <= now
                or (row["redeemed_by"] and row["redeemed_by"] != actor.professional_id)
                or row["created_at"] + REDEEM_WITHIN <= now):
            refusal = True
        else:
            _, _, blocked = await pro_basis(actor.professional_id, row["person"])
            refusal = blocked
            if not blocked:
                # Conditional: of two professionals redeeming at once (on any process), one wins.
                won = await TemporaryAccess.update({TemporaryAccess.redeemed_by: actor.professional_id,
                                                    TemporaryAccess.redeemed_at: now}).where(
                    (TemporaryAccess.id == row["id"])
                    & (TemporaryAccess.redeemed_by.is_null()
                       | (TemporaryAccess.redeemed_by == actor.professional_id))
                ).returning(TemporaryAccess.id)
                refusal = not won
    if row is not None:
        await history.record(row["person"], actor_kind="pro", actor_id=actor.professional_id,
                             actor_label=label, action="temporary_access.redeem",
                             outcome="refused" if refusal else "allowed")
    if refusal:
        raise Unprocessable("Code d'accès inconnu, expiré, révoqué ou déjà utilisé.",
                             detail_en="Unknown, expired, revoked or already used access code.")
    person = await people.patient(row["person"])
    return {**person, "basis": "temporary", "until": row["expires_at"]}


# --- emergency ---------------------------------------------------------------------


EMERGENCY_CONTEXTS = history.EMERGENCY_CONTEXTS
MAX_EMERGENCIES = 3  # per professional, rolling 24 hours, all patients together
EMERGENCY_WINDOW = timedelta(hours=24)
MIN_REASON_CHARS = 20
MIN_REASON_WORDS = 3


def _reason_problem(reason: str) -> tuple[str, str] | None:
    """What is wrong with a written reason, in French and English, or ``None`` when it holds up.

    A real account of the situation: 20 characters at least, 3 distinct words
    (of 2 letters or more), and not one character repeated.
    """
    letters = reason.replace(" ", "").casefold()
    words = {w.casefold() for w in re.findall(r"\w{2,}", reason)}
    if len(set(letters)) == 1:
        return ("Motif invalide : un même caractère répété ne décrit pas la situation.",
                "Invalid reason: one repeated character does not describe the situation.")
    if len(reason) < MIN_REASON_CHARS:
        return (f"Motif trop court : {len(reason)} caractères, {MIN_REASON_CHARS} au moins.",
                f"Reason too short: {len(reason)} characters, {MIN_REASON_CHARS} at least.")
    if len(words) < MIN_REASON_WORDS:
        return (f"Motif trop vague : {len(words)} mot(s) différent(s), {MIN_REASON_WORDS} au moins "
                "pour décrire la situation.",
                f"Reason too vague: {len(words)} distinct word(s), {MIN_REASON_WORDS} at least "
                "to describe the situation.")
    return None


async def _serialise_declarations(professional_id: UUID) -> None:
    """One declaration at a time per professional, so that the daily limit cannot be raced.

    SQLite's single writer already serialises write transactions.
    """
    if database.dialect() == "postgres":
        await database.fetch("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))",
                             f"emergency:{professional_id}")


async def _recent_declarations(professional_id: UUID, now: datetime) -> list[datetime]:
    rows = await EmergencyAccess.select(EmergencyAccess.created_at).where(
        (EmergencyAccess.professional == professional_id)
        & (EmergencyAccess.created_at > now - EMERGENCY_WINDOW))
    return sorted(r["created_at"] for r in rows)


def _too_many(recent: list[datetime], now: datetime) -> TooManyAttempts:
    retry = max(1, int((recent[0] + EMERGENCY_WINDOW - now).total_seconds()))
    return TooManyAttempts(
        f"Vous avez déjà déclaré {len(recent)} urgences ces dernières 24 heures, le maximum : "
        "la prochaine sera possible plus tard ; d'ici là, passez par la régulation du SAMU.",
        detail_en=f"You already declared {len(recent)} emergencies in the last 24 hours, the maximum: "
                  "the next one will be possible later; until then, go through emergency dispatch.",
        headers={"Retry-After": str(retry)})


async def declare_emergency(settings: Settings, actor: Actor, person_id: UUID, context: str, reason: str,
                            label: str) -> dict:
    """Break-glass access for a physician, with a coded context and a written reason.

    Refused when the reason does not describe the situation, for other
    professions, when the patient opposed it, and beyond
    :data:`MAX_EMERGENCIES` declarations in 24 hours by the same professional
    (429). The decision is taken first; every attempt is then recorded once in
    the patient's history with its outcome. An allowed one notifies the patient
    and, for a minor, each guardian on their own profile.
    """
    reason = " ".join(reason.split())
    _basis, profession, blocked = await pro_basis(actor.professional_id, person_id)
    if blocked:  # blocking shuts emergencies too; the attempt is in the patient's history
        await history.record(person_id, actor_kind="emergency", actor_id=actor.professional_id,
                             actor_label=label, action="emergency.declare", purpose="blocked",
                             outcome="refused")
    if blocked or not profession:
        raise NotFound()
    now = utcnow()
    expires = now + timedelta(minutes=settings.emergency_minutes)
    refusal: CarnetError | None = None
    async with database.transaction():
        await _serialise_declarations(actor.professional_id)
        person = await people.emergency_traits(person_id)
        if person is None:
            raise NotFound()
        problem = _reason_problem(reason)
        recent = await _recent_declarations(actor.professional_id, now)
        if problem:
            refusal = Unprocessable(problem[0], detail_en=problem[1], errors=[
                {"field": "reason", "rule": "substance", "message": problem[0], "message_en": problem[1]}])
        elif profession != "10":
            refusal = Forbidden("L'accès en urgence est réservé aux médecins.",
                                detail_en="Emergency access is for physicians only.")
        elif person["emergency_access_opposed"]:
            refusal = Forbidden("Le patient s'est opposé à l'accès en urgence à son dossier.",
                                detail_en="The patient opposed emergency access to their record.")
        elif len(recent) >= MAX_EMERGENCIES:
            refusal = _too_many(recent, now)
        await history.record(person_id, actor_kind="emergency", actor_id=actor.professional_id,
                             actor_label=label, action="emergency.declare",
                             purpose=f"{EMERGENCY_CONTEXTS[context][0]} — {reason}",
                             outcome="refused" if refusal else "allowed")
        if refusal is None:
            await EmergencyAccess.insert(EmergencyAccess(
                person=person_id, professional=actor.professional_id, reason=f"{context}: {reason}",
                created_at=now, expires_at=expires))
            await _notify_guardians(person_id, person["first_name"], label)
    if refusal is not None:
        raise refusal
    return {"person_id": person_id, "until": expires}


async def _notify_guardians(child_id: UUID, first_name: str, label: str) -> None:
    """A notice on each guardian's own profile: an emergency access was opened on their child's record."""
    for parent_id in await people.guardians(child_id):
        await Notification.insert(Notification(
            person=parent_id, kind="access.emergency.child",
            text_fr=f"Accès en urgence au dossier de {first_name} par {label}.",
            text_en=f"Emergency access to {first_name}'s record by {label}."))


async def set_emergency_opposition(actor: Actor, person_id: UUID, opposed: bool) -> None:
    """Oppose (or no longer oppose) emergency access; opposing ends any emergency still open."""
    await _managed(actor, person_id)
    now = utcnow()
    async with database.transaction():
        await people.set_emergency_opposition(person_id, opposed)
        if opposed:
            await EmergencyAccess.update({EmergencyAccess.expires_at: now}).where(
                (EmergencyAccess.person == person_id) & (EmergencyAccess.expires_at > now))


# --- research use and notices ------------------------------------------------------


async def record_research_choice(actor: Actor, person_id: UUID, choice: str) -> list[dict]:
    await _managed(actor, person_id)
    if choice not in ("consent", "objection"):
        raise Unprocessable("Choix inconnu : consent ou objection.", detail_en="Unknown choice.")
    await ResearchChoice.insert(ResearchChoice(person=person_id, choice=choice))
    return await research_history(actor, person_id)


async def research_history(actor: Actor, person_id: UUID) -> list[dict]:
    await _managed(actor, person_id)
    return await ResearchChoice.select(ResearchChoice.choice, ResearchChoice.created_at).where(
        ResearchChoice.person == person_id).order_by(ResearchChoice.created_at, ascending=False)


async def privacy_settings(actor: Actor, person_id: UUID) -> dict:
    await _managed(actor, person_id)
    person = await people.emergency_traits(person_id)
    research = await research_history(actor, person_id)
    return {"emergency_access_opposed": bool(person["emergency_access_opposed"]),
            "research_choice": research[0]["choice"] if research else None}


async def notifications(actor: Actor, person_id: UUID) -> list[dict]:
    await _managed(actor, person_id)
    return await Notification.select(Notification.id, Notification.kind, Notification.text_fr,
                                     Notification.text_en, Notification.created_at,
                                     Notification.read_at).where(
        Notification.person == person_id).order_by(Notification.created_at, ascending=False).limit(50)


# --- portability -------------------------------------------------------------------


async def export_rows(person_id: UUID) -> dict[str, list[dict]]:
    """The person's care team, blocks, temporary accesses and research choices, for their data export."""
    return {
        "care_team": await CareRelation.select(CareRelation.professional, CareRelation.role,
                                               CareRelation.created_at, CareRelation.revoked_at).where(
            CareRelation.person == person_id),
        "blocked": await Block.select(Block.professional, Block.created_at).where(Block.person == person_id),
        "temporary_access": await TemporaryAccess.select(
            TemporaryAccess.id, TemporaryAccess.label, TemporaryAccess.created_at, TemporaryAccess.expires_at,
            TemporaryAccess.revoked_at, TemporaryAccess.redeemed_at).where(
            TemporaryAccess.person == person_id),
        "research_choices": await ResearchChoice.select(
            ResearchChoice.choice, ResearchChoice.created_at).where(ResearchChoice.person == person_id),
    }


async def end_all(person_id: UUID, now: datetime) -> None:
    """Revoke the person's temporary accesses and care relations (in the caller's transaction if any)."""
    await TemporaryAccess.update({TemporaryAccess.revoked_at: now}).where(
        (TemporaryAccess.person == person_id) & TemporaryAccess.revoked_at.is_null())
    await CareRelation.update({CareRelation.revoked_at: now}).where(
        (CareRelation.person == person_id) & CareRelation.revoked_at.is_null())
