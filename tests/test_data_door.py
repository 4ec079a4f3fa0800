"""One door to protected data: only a table's repository may query it.

A protected table holds a person's health data; it is read and written only by
its repository, which applies the request's access policy to every statement.
This test fails when any other module of the application names such a table in
SQL or uses its Piccolo class. A new slice adds its tables here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent / "backend"

# table name -> (the only module allowed to query it, its Piccolo class)
PROTECTED = {
    "document": ("documents/repository.py", "Document"),
    "upload_receipt": ("documents/repository.py", "UploadReceipt"),
    "prescription": ("prescriptions/repository.py", "Prescription"),
    "prescription_line": ("prescriptions/repository.py", "PrescriptionLine"),
    "prescription_dispense": ("prescriptions/repository.py", "PrescriptionDispense"),
    "prescription_opening": ("prescriptions/repository.py", "PrescriptionOpening"),
    "message_thread": ("messaging/repository.py", "MessageThread"),
    "thread_message": ("messaging/repository.py", "ThreadMessage"),
    "message_attachment": ("messaging/repository.py", "MessageAttachment"),
}
# Where a table is declared and registered (no queries there).
DECLARATIONS = ("tables.py", "piccolo_app.py")


def _sql_pattern(table: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+{table}\b", re.IGNORECASE)


def _orm_pattern(cls: str) -> re.Pattern[str]:
    return re.compile(rf"(?:\b{cls}\.(?:select|insert|update|delete|objects|raw|count|exists)\b"
                      rf"|import[^\n]*\b{cls}\b)")


def _sources() -> list[Path]:
    return [p for p in BACKEND.rglob("*.py")
            if "piccolo_migrations" not in p.parts and p.name not in DECLARATIONS]


def offenders(text: str, path: str) -> list[str]:
    """The protected tables that ``text`` (the source of ``path``) queries without being their door."""
    found = []
    for table, (door, cls) in PROTECTED.items():
        if path == door:
            continue
        if _sql_pattern(table).search(text) or _orm_pattern(cls).search(text):
            found.append(table)
    return found


def test_only_the_repository_queries_protected_tables():
    leaks = {}
    for path in _sources():
        rel = path.relative_to(BACKEND).as_posix()
        if found := offenders(path.read_text(), rel):
            leaks[rel] = found
    assert leaks == {}, f"protected tables queried outside their repository: {leaks}"


@pytest.mark.parametrize("planted", [
    'rows = await database.fetch("SELECT title FROM document WHERE person = {}", pid)',
    'await database.execute("update document set masked = 1")',
    "from backend.documents.tables import Document",
    "await Document.select().where(Document.person == pid)",
    'sql = "INSERT INTO upload_receipt (key) VALUES ({})"',
])
def test_the_door_check_catches_a_bypass(planted):
    assert offenders(f"x = 1\n{planted}\n", "portability/services.py")


def test_the_door_check_ignores_words_that_are_not_queries():
    text = '"""Export every document of the record (from documents/ to the ZIP)."""\nDocumentOut = 1\n'
    assert offenders(text, "portability/services.py") == []


def test_every_protected_door_exists():
    for door, cls in PROTECTED.values():
        source = (BACKEND / door).read_text()
        assert "class " in source and "policy" in source
        tables = (BACKEND / door).parent / "tables.py"
        assert f"class {cls}(" in tables.read_text()
