"""``index.html`` of the export: the record as a person reads it, beside the JSON files.

One static page, no script, opened from the unzipped folder: who the record is about, every
document with a link to its file, the people trusted with it, and the access history in words.
Every value is escaped: titles and labels come from people.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from backend.access import history
from backend.documents.catalogue import TYPES

WORDS = {
    "title": ("Mon dossier Carnet", "My Carnet record"),
    "generated": ("Export du {when}. Les fichiers JSON à côté de cette page contiennent les mêmes données, "
                  "lisibles par un logiciel (voir manifest.json).",
                  "Exported on {when}. The JSON files beside this page hold the same data for software "
                  "(see manifest.json)."),
    "identity": ("Identité", "Identity"),
    "birth_date": ("Date de naissance", "Date of birth"),
    "ins": ("Matricule INS", "INS number"),
    "documents": ("Documents ({n})", "Documents ({n})"),
    "no_documents": ("Aucun document.", "No document."),
    "care_date": ("Date", "Date"),
    "doc_title": ("Titre", "Title"),
    "type": ("Type", "Type"),
    "author": ("Auteur", "Author"),
    "delegations": ("Personnes de confiance", "Trusted people"),
    "no_delegations": ("Aucune délégation.", "No delegation."),
    "label": ("Nom donné", "Name given"),
    "until": ("Jusqu'au", "Until"),
    "state": ("État", "State"),
    "revoked": ("révoquée", "revoked"),
    "accepted": ("acceptée", "accepted"),
    "pending": ("en attente", "pending"),
    "history": ("Historique des accès ({n})", "Access history ({n})"),
    "when": ("Quand", "When"),
    "who": ("Qui", "Who"),
    "what": ("Quoi", "What"),
    "outcome": ("Résultat", "Outcome"),
    "allowed": ("autorisé", "allowed"),
    "refused": ("refusé", "refused"),
}


def _when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th scope=\"col\">{h}</th>" for h in headers)  # already escaped
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(profile: dict, documents: list[dict], delegations: list[dict], events: list[dict], *,
                 english: bool, generated_at: datetime) -> bytes:
    """The page, in the reader's language; ``events`` already carry their ``reason`` in words."""
    lang = 1 if english else 0

    def w(key: str, **values) -> str:
        return escape(WORDS[key][lang].format(**values))

    identity = profile["identity"]
    name = f"{identity['first_name']} {identity['used_name'] or identity['birth_name']}"
    doc_rows = [[
        escape(_when(d["care_date"])),
        f"<a href=\"{escape(d['path'], quote=True)}\">{escape(d['title'])}</a>",
        escape(TYPES.get(d["type_code"], {}).get("en" if english else "fr", d["type_code"])),
        escape(d["author"] or ""),
    ] for d in sorted(documents, key=lambda d: d["care_date"] or date.min, reverse=True)]
    delegation_rows = [[
        escape(d["label"]),
        escape(_when(d["ends_at"])),
        w("revoked") if d["revoked_at"] else w("accepted") if d["accepted_at"] else w("pending"),
    ] for d in delegations]
    event_rows = [[
        escape(_when(e["created_at"])),
        escape(e["actor_label"]),
        escape(history.action_text(e["action"], english)),
        w(e["outcome"]) + (f" — {escape(e['reason'])}" if e.get("reason") else ""),
    ] for e in reversed(events)]
    parts = [
        "<!doctype html>",
        f"<html lang=\"{'en' if english else 'fr'}\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{w('title')} — {escape(name)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;"
        "line-height:1.5;color:#17212b}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #d5dde5;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        "a{color:#0b5cad}</style></head><body>",
        f"<h1>{w('title')} — {escape(name)}</h1>",
        f"<p>{w('generated', when=_when(generated_at))}</p>",
        f"<h2>{w('identity')}</h2><dl>",
        f"<dt>{w('birth_date')}</dt><dd>{escape(_when(identity['birth_date']))}</dd>",
        f"<dt>{w('ins')}</dt><dd>{escape(profile['ins']['value'])}</dd></dl>",
        f"<h2>{w('documents', n=len(documents))}</h2>",
        _table([w("care_date"), w("doc_title"), w("type"), w("author")], doc_rows) if doc_rows
        else f"<p>{w('no_documents')}</p>",
        f"<h2>{w('delegations')}</h2>",
        _table([w("label"), w("until"), w("state")], delegation_rows) if delegation_rows
        else f"<p>{w('no_delegations')}</p>",
        f"<h2>{w('history', n=len(events))}</h2>",
        _table([w("when"), w("who"), w("what"), w("outcome")], event_rows),
        "</body></html>",
    ]
    return "\n".join(parts).encode()
