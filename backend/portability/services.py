"""Export everything a citizen has (ZIP with a JSON manifest) and close the space."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import date, datetime
from uuid import UUID

from backend.access import delegations, history, preferences
from backend.access.rules import Relation, relation_to
from backend.accounts.services import close_account
from backend.core import database
from backend.core.auth import Actor, utcnow
from backend.core.errors import NotFound, Unprocessable
from backend.core.settings import Settings
from backend.documents import audit
from backend.documents.blobstore import StoredBlob
from backend.documents.services import blob_store, open_record, public
from backend.identity import people
from backend.identity.card import card_view
from backend.messaging import services as messaging
from backend.portability.summary import summary_html
from backend.prescriptions import services as prescriptions

FORMAT = "carnet-export/1"
RETENTION_YEARS = 10
RETENTION = {
    "fr": "Votre espace est fermé immédiatement : plus personne ne peut s'y connecter, et les "
          "professionnels comme les personnes de confiance perdent leur accès. Les documents et "
          f"l'historique des accès sont conservés {RETENTION_YEARS} ans à compter de la fermeture, "
          "comme pour le dossier médical partagé, puis effacés. Téléchargez vos données avant de fermer.",
    "en": "Your space is closed at once: nobody can log in any more, and professionals and trusted "
          f"persons lose their access. Documents and the access history are kept {RETENTION_YEARS} "
          "years from closure, as for the shared medical record, then erased. Download your data first.",
}
CONFIRMATION = "FERMER"


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(type(value).__name__)


def _dump(value) -> bytes:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=1).encode()


async def owner(actor: Actor, person_id: UUID) -> Relation:
    """The citizen themself or a parent of a minor: who may take the record away (else 404)."""
    relation = await relation_to(actor, person_id)
    if relation.kind not in ("self", "parent"):
        raise NotFound()
    return relation


async def export_zip(settings: Settings, actor: Actor, person_id: UUID, *, english: bool = False) -> bytes:
    """A ZIP of every document the actor may see (as stored, hash-checked), its metadata, the
    profile, delegations, preferences and the access history, described by ``manifest.json``,
    with ``index.html`` to read it all in a browser.

    The documents come through the actor's repository, so a parent's export of a
    minor leaves out the minor's secret, and nobody exports a document not yet
    announced to the patient. The export itself is recorded in the access history; each event
    keeps its stored ``purpose`` and carries its ``reason`` in the reader's language (``english``).
    """
    relation = await owner(actor, person_id)
    repo, who = await open_record(actor, person_id, "record.export")
    person = await people.record(person_id)
    store = blob_store(settings)
    files: dict[str, bytes] = {}
    entries = []
    async for row in repo.export_rows():
        stored = StoredBlob(blob_id=row["blob_id"], wrapped_key=row["wrapped_key"], sha256=row["sha256"],
                            size=row["size"])
        path = f"documents/{row['id']}-{row['filename']}"
        files[path] = await store.get(row["blob_id"], stored)
        entries.append({**public(row), "path": path, "status": row["status"]})
    events = [history.localise(event, english)
              async for event in history.iter_events(person_id, viewer=relation.kind)]
    given = await delegations.export_rows(person_id)
    chosen = await preferences.export_rows(person_id)
    written = await _prescriptions(actor, person_id)
    conversations = await _conversations(settings, actor, person_id)
    sections = {
        "profile.json": card_view(settings, person, []),
        "delegations.json": given,
        "care-team.json": chosen["care_team"],
        "blocked.json": chosen["blocked"],
        "temporary-access.json": chosen["temporary_access"],
        "research-choices.json": chosen["research_choices"],
        "prescriptions.json": written,
        "conversations.json": conversations,
        "access-history.json": events,
    }
    generated_at = utcnow()
    summary = summary_html(sections["profile.json"], entries, given, events, english=english,
                           generated_at=generated_at)
    manifest = {
        "format": FORMAT,
        "generated_at": generated_at,
        "person": {"id": person_id, "first_name": person["first_name"], "birth_name": person["birth_name"]},
        "documents": entries,
        "files": sorted(["index.html", *sections, *files]),
    }

    def build() -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", _dump(manifest))
            archive.writestr("index.html", summary)
            for name, value in sections.items():
                archive.writestr(name, _dump(value))
            for name, data in files.items():
                archive.writestr(name, data)
        return buffer.getvalue()

    archive = await asyncio.to_thread(build)
    await audit.record(who, person_id, "record.export", always=True)
    return archive


async def _prescriptions(actor: Actor, person_id: UUID) -> list[dict]:
    """Every prescription of the profile, with its lines and what was dispensed."""
    items: list[dict] = []
    page = 1
    while True:
        data = await prescriptions.for_profile(actor, person_id, page=page,
                                               page_size=prescriptions.MAX_PAGE_SIZE, record=False)
        items += [{k: v for k, v in item.items() if k != "qr"} for item in data["items"]]
        if not data["items"] or len(items) >= data["total"]:
            return items
        page += 1


async def _conversations(settings: Settings, actor: Actor, person_id: UUID) -> list[dict]:
    """Every conversation of the profile with all its messages, oldest first (texts decrypted)."""
    threads: list[dict] = []
    before = None
    while True:
        inbox = await messaging.list_threads(settings, actor, person_id, before=before,
                                             limit=messaging.MAX_INBOX)
        for item in inbox["items"]:
            view = await messaging.get_thread(settings, actor, item["id"], limit=messaging.MAX_PAGE,
                                              record=False)
            messages = list(view["messages"])
            while view["next_before"]:
                view = await messaging.get_thread(settings, actor, item["id"], before=view["next_before"],
                                                  limit=messaging.MAX_PAGE, record=False)
                messages += view["messages"]
            threads.append({**view, "messages": messages[::-1]})
        before = inbox["next_before"]
        if before is None:
            return threads


async def close_space(actor: Actor, person_id: UUID, confirmation: str) -> dict:
    """Close the citizen's own space after an explicit confirmation; states the retention rules."""
    relation = await relation_to(actor, person_id)
    if not relation.is_self:
        raise NotFound()
    if confirmation.strip().upper() != CONFIRMATION:
        raise Unprocessable(f"Confirmez en saisissant « {CONFIRMATION} ».",
                             detail_en=f"Confirm by typing '{CONFIRMATION}'.",
                             errors=[{"field": "confirmation", "rule": "equals",
                                      "message": f"saisir « {CONFIRMATION} »",
                                      "message_en": f"type '{CONFIRMATION}'"}])
    now = utcnow()
    async with database.transaction():
        await people.close(person_id, now)
        await delegations.revoke_all(person_id, now)
        await preferences.end_all(person_id, now)
        await close_account(actor.account_id)
    return {"closed_at": now, "retention_years": RETENTION_YEARS, "retention": RETENTION["fr"],
            "retention_en": RETENTION["en"]}
