"""The access history: append-only, hash-chained per person, with notices to the citizen.

Each event's hash covers its content and the previous event's hash for the
same person, so an edited, deleted or reordered event breaks the chain from
there on; :func:`verify_chain` names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

from backend.access.tables import AccessEvent, Notification
from backend.core import database
from backend.core.auth import utcnow

GENESIS = "0" * 64
_HASHED = ("person", "actor_kind", "actor_id", "actor_label", "on_behalf_of", "action", "resource",
           "purpose", "outcome", "created_at")
# Why an access was refused, as stored in an event's ``purpose``: a stable code, shown to the
# citizen in their language (``reason_text``). Any other purpose (an emergency's context and
# reason, written by the physician) is shown as it was written.
REASONS: dict[str, tuple[str, str]] = {
    "blocked": ("le patient a bloqué ce professionnel", "the patient blocked this professional"),
    "no care relationship": ("ne fait pas partie de l'équipe de soins et n'a pas de code d'accès",
                             "not in the care team and holds no access code"),
    "outside the actor's rights": ("document hors de ses droits d'accès",
                                   "document outside their access rights"),
    "not the record's owner": ("seul le titulaire du dossier peut le faire",
                               "only the record's owner may do this"),
    "not added by the citizen side": ("document ajouté par un professionnel : il ne peut pas être supprimé",
                                      "document added by a professional: it cannot be deleted"),
    "not the author": ("seul l'auteur du document peut le faire", "only the document's author may do this"),
    "identity traits mismatch": ("les traits d'identité donnés ne correspondent pas",
                                 "the identity traits given do not match"),
    "token-used": ("QR code déjà utilisé", "QR code already used"),
    "delegation-ended": ("la délégation qui permettait de présenter la carte a pris fin",
                         "the delegation that allowed presenting the card has ended"),
    "not a thread participant": ("ne participe pas à cette conversation", "not part of this conversation"),
}
# Sentences stored before the codes above existed.
_OLDER_REASONS = {
    "Token already used: ask the patient to show a new one.": "token-used",
    "Delegation revoked or expired: this token is no longer valid.": "delegation-ended",
}


# An emergency's coded context, stored in French before the physician's own words
# (``"urgence vitale — ..."``); the context is shown in the reader's language, the words as written.
EMERGENCY_CONTEXTS: dict[str, tuple[str, str]] = {
    "samu_regulation": ("régulation du SAMU", "emergency medical dispatch"),
    "unconscious_patient": ("patient hors d'état de consentir", "patient unable to consent"),
    "vital_emergency": ("urgence vitale", "life-threatening emergency"),
}
_CONTEXT_SEPARATOR = " — "
# Labels of actors that are not people, stored in French.
ACTOR_LABELS: dict[str, tuple[str, str]] = {"operator": ("Opérateur Carnet", "Carnet operator")}


# What each recorded action is, as the export's summary names it (the app has the same words).
ACTIONS: dict[str, tuple[str, str]] = {
    "card.verify": ("Vérification de la carte", "Card check"),
    "card.read": ("Consultation de la carte", "Card view"),
    "card.present": ("Présentation de la carte", "Card presentation"),
    "delegation.accept": ("Acceptation d'une délégation", "Delegation acceptance"),
    "documents.list": ("Consultation de la liste des documents", "Document list view"),
    "document.read": ("Consultation d'un document", "Document view"),
    "document.download": ("Ouverture ou téléchargement d'un document", "Document opening or download"),
    "document.add": ("Ajout d'un document", "Document addition"),
    "document.manage": ("Gestion d'un document", "Document management"),
    "document.mask": ("Masquage d'un document aux professionnels", "Hiding a document from professionals"),
    "document.unmask": ("Fin du masquage d'un document", "End of hiding a document"),
    "document.delete": ("Suppression d'un document", "Document deletion"),
    "document.archive": ("Retrait d'un document", "Document withdrawal"),
    "document.announce": ("Mise à disposition d'un document au patient",
                          "Release of a document to the patient"),
    "document.replace": ("Nouvelle version d'un document", "New version of a document"),
    "patient.identify": ("Recherche du dossier par l'INS", "Record looked up by INS"),
    "patient.read": ("Consultation de la fiche patient", "Patient summary view"),
    "record.export": ("Export de toutes les données", "Export of all the data"),
    "temporary_access.redeem": ("Utilisation d'un code d'accès", "Use of an access code"),
    "emergency.declare": ("Déclaration d'un accès en urgence", "Emergency access declaration"),
    "thread.start": ("Début d'une conversation de messagerie", "Start of a messaging conversation"),
    "thread.read": ("Lecture d'une conversation de messagerie", "Messaging conversation read"),
    "thread.reply": ("Envoi d'un message", "Message sent"),
    "thread.close": ("Clôture d'une conversation de messagerie", "Messaging conversation closed"),
    "thread.attachment": ("Ouverture d'une pièce jointe de message", "Message attachment opened"),
    "prescription.create": ("Rédaction d'une ordonnance", "Prescription written"),
    "prescription.list": ("Consultation de la liste des ordonnances", "Prescription list view"),
    "prescription.read": ("Consultation d'une ordonnance", "Prescription view"),
    "prescription.send": ("Envoi d'une ordonnance à une pharmacie", "Prescription sent to a pharmacy"),
    "prescription.dispense": ("Délivrance de médicaments", "Medicines dispensed"),
    "prescription.cancel": ("Annulation d'une ordonnance", "Prescription cancelled"),
}


def action_text(action: str, english: bool) -> str:
    words = ACTIONS.get(action)
    return action if words is None else words[1 if english else 0]


def reason_text(purpose: str, english: bool) -> str:
    """An event's purpose as the citizen reads it: a refusal code in words, an emergency's context
    in the reader's language, anything else as written."""
    words = REASONS.get(_OLDER_REASONS.get(purpose, purpose))
    if words is not None:
        return words[1] if english else words[0]
    context, separator, written = purpose.partition(_CONTEXT_SEPARATOR)
    if english and separator:
        for fr, en in EMERGENCY_CONTEXTS.values():
            if context == fr:
                return f"{en}{separator}{written}"
    return purpose


def actor_label_text(actor_kind: str, label: str, english: bool) -> str:
    """An actor's label as the citizen reads it: a person's name as it is, the operator in words."""
    words = ACTOR_LABELS.get(actor_kind)
    if words is None or label != words[0]:
        return label
    return words[1] if english else words[0]


def localise(event: dict, english: bool) -> dict:
    """An event as read back (``history``, ``iter_events``) with its ``reason`` in the reader's
    language and the operator named in it; ``purpose`` stays as stored."""
    return {**event, "reason": reason_text(event["purpose"] or "", english),
            "actor_label": actor_label_text(event["actor_kind"], event["actor_label"], english)}


# A first allowed access by one of these leaves a notice for the citizen.
NOTIFIED_KINDS = ("pro", "emergency")
# Actions on a conversation the citizen side takes part in, not a look into the record: the
# messaging slice tells the citizen about a new message itself.
CONVERSATION = "thread."


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, event: dict) -> str:
    """SHA-256 over the previous hash and the event's fields in a canonical form."""
    body = {k: (_stamp(event[k]) if k == "created_at" else str(event[k]) if event[k] is not None else None)
            for k in _HASHED}
    if event.get("hidden_from_guardians"):  # hashed only when set: older chains keep verifying
        body["hidden_from_guardians"] = True
    payload = prev_hash + json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


async def _lock_person_chain(person_id: UUID) -> None:
    """Serialise appends to one person's chain, across processes."""
    await database.lock(f"access-chain:{person_id}")


async def record(
    person_id: UUID,
    *,
    actor_kind: str,
    actor_id: UUID | str,
    actor_label: str,
    action: str,
    outcome: str = "allowed",
    resource: str = "",
    purpose: str = "",
    on_behalf_of: str | None = None,
    hidden_from_guardians: bool = False,
) -> None:
    """Append one event to the person's access history (in the caller's transaction if any).

    The first allowed access by a professional new to this record also leaves
    a notice for the citizen. An event about a minor's secret
    (``hidden_from_guardians``) is never shown to the minor's guardians, and
    leaves no notice on the profile they read.
    """
    async with database.transaction():
        await _lock_person_chain(person_id)
        last = await database.fetch(
            "SELECT hash FROM access_event WHERE person = {} ORDER BY id DESC LIMIT 1", person_id
        )
        event = {
            "person": person_id, "actor_kind": actor_kind, "actor_id": str(actor_id),
            "actor_label": actor_label[:200], "on_behalf_of": on_behalf_of, "action": action,
            "resource": resource, "purpose": purpose, "outcome": outcome, "created_at": utcnow(),
            "hidden_from_guardians": hidden_from_guardians,
        }
        if actor_kind in NOTIFIED_KINDS and outcome == "allowed" and not hidden_from_guardians \
                and not action.startswith(CONVERSATION):
            await _notify_first_access(person_id, event)
        prev = last[0]["hash"] if last else GENESIS
        await database.execute(
            "INSERT INTO access_event (person, actor_kind, actor_id, actor_label, on_behalf_of, action, "
            "resource, purpose, outcome, created_at, hidden_from_guardians, prev_hash, hash) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            *(event[k] for k in _HASHED), hidden_from_guardians, prev, event_hash(prev, event),
        )


async def _notify_first_access(person_id: UUID, event: dict) -> None:
    seen = await database.fetch(
        "SELECT 1 AS seen FROM access_event WHERE person = {} AND actor_id = {} AND outcome = 'allowed' "
        "AND hidden_from_guardians = {} AND action NOT LIKE {} LIMIT 1", person_id, event["actor_id"], False,
        CONVERSATION + "%",
    )
    if seen and event["actor_kind"] != "emergency":
        return
    label = event["actor_label"]
    if event["actor_kind"] == "emergency":
        text = (f"{label} a ouvert votre dossier en urgence.", f"{label} opened your record in an emergency.")
    else:
        text = (f"{label}, professionnel de santé, a consulté votre dossier pour la première fois.",
                f"{label}, a health professional, accessed your record for the first time.")
    await notify(person_id, f"access.{event['actor_kind']}", *text)


async def notify(person_id: UUID, kind: str, text_fr: str, text_en: str) -> None:
    """A notice on the person's profile, in both languages (its reader picks one).

    Notices name who did what, never a document's title or any other health data.
    """
    await Notification.insert(Notification(person=person_id, kind=kind, text_fr=text_fr, text_en=text_en))


MAX_LIMIT = 100
NEWEST = 2**31 - 1  # the ``before`` cursor of the first page (event ids are 32-bit serials)
_COLUMNS = ("id, actor_kind, actor_label, on_behalf_of, action, resource, purpose, outcome, created_at")


def _filters(person_id: UUID, viewer: str, actor_kind: str | None, outcome: str | None,
             action: str | None, since: datetime | None) -> tuple[str, list]:
    """The WHERE clause of a person's history as ``viewer`` (``self`` or ``parent``) may see it."""
    where, args = "person = {}", [person_id]
    if viewer != "self":  # guardians never see (nor count) events about the minor's secret
        where += " AND hidden_from_guardians = {}"
        args.append(False)
    for column, value in (("actor_kind", actor_kind), ("outcome", outcome), ("action", action)):
        if value:
            where += f" AND {column} = {{}}"
            args.append(value)
    if since:  # a time without an offset is read as UTC, like the stored stamps
        where += " AND created_at >= {}"
        args.append(since if since.tzinfo else since.replace(tzinfo=UTC))
    return where, args


async def history(person_id: UUID, *, viewer: str = "self", actor_kind: str | None = None,
                  outcome: str | None = None, action: str | None = None, since: datetime | None = None,
                  before: int | None = None, limit: int = 50) -> list[dict]:
    """The person's access history as ``viewer`` may see it, newest first, before event ``before``."""
    where, args = _filters(person_id, viewer, actor_kind, outcome, action, since)
    if before is not None:
        where += " AND id < {}"
        args.append(before)
    return await database.fetch(
        f"SELECT {_COLUMNS} FROM access_event WHERE {where} ORDER BY id DESC LIMIT {{}}",  # noqa: S608
        *args, limit)


async def page(person_id: UUID, *, viewer: str, limit: int = 50, before: int | None = None,
               **filters) -> dict:
    """One page of the history with the cursor of the next one and counts per outcome.

    Keyset pagination on the event id: a page never skips or repeats an event
    appended meanwhile. ``counts`` covers every event matching the filters
    (all pages), so one allowed access stays visible among many refusals.
    """
    items = await history(person_id, viewer=viewer, before=before, limit=limit + 1, **filters)
    more = len(items) > limit
    items = items[:limit]
    where, args = _filters(person_id, viewer, filters.get("actor_kind"), None, filters.get("action"),
                           filters.get("since"))
    rows = await database.fetch(
        f"SELECT outcome, COUNT(*) AS n FROM access_event WHERE {where} GROUP BY outcome", *args)  # noqa: S608
    counts = {"allowed": 0, "refused": 0} | {r["outcome"]: r["n"] for r in rows}
    outcome = filters.get("outcome")
    total = counts.get(outcome, 0) if outcome else sum(counts.values())
    return {"items": items, "next_cursor": items[-1]["id"] if more else None, "total": total,
            "counts": counts}


async def iter_events(person_id: UUID, *, viewer: str, batch: int = 1000) -> AsyncIterator[dict]:
    """Every event ``viewer`` may see, oldest first, read in batches (bounded memory)."""
    where, args = _filters(person_id, viewer, None, None, None, None)
    last = 0
    while True:
        rows = await database.fetch(
            f"SELECT {_COLUMNS} FROM access_event WHERE {where} AND id > {{}} "  # noqa: S608
            "ORDER BY id LIMIT {}", *args, last, batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last = rows[-1]["id"]


async def verify_chain() -> tuple[int, dict | None]:
    """Check every person's chain. Returns (events checked, first broken event or None)."""
    rows = await AccessEvent.select().order_by(AccessEvent.person).order_by(AccessEvent.id)
    last: dict[str, str] = {}
    for count, row in enumerate(rows, start=1):
        key = str(row["person"])
        expected_prev = last.get(key, GENESIS)
        if row["prev_hash"] != expected_prev or row["hash"] != event_hash(expected_prev, row):
            return count, row
        last[key] = row["hash"]
    return len(rows), None
