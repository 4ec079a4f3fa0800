"""Operator commands: document import, orphan blob clean-up, access history verification."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from backend.documents.services import blob_store
from tests.docworld import pdf
from tests.factories import import_persons, person_row


def carnet(settings, *args):
    env = {"CARNET_DATA_DIR": str(settings.data_dir), "CARNET_DATABASE_URL": settings.database_url,
           "PATH": os.environ["PATH"]}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_import_documents_reports_each_entry(tmp_path, run, settings, make_api):
    row = person_row()
    import_persons(run, settings, [row])
    (tmp_path / "remboursements.pdf").write_bytes(pdf())
    (tmp_path / "virus.pdf").write_bytes(b"MZ" + b"\0" * 100)
    base = {"ins": row["nir"], "birth_name": row["birth_name"], "first_name": row["first_names"][0],
            "birth_date": row["birth_date"], "sex": row["sex"], "type_code": "11488-4",
            "title": "Historique des remboursements", "care_date": "2026-01-31", "author": "Assurance maladie"}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([
        {**base, "file": "remboursements.pdf"},
        {**base, "file": "virus.pdf"},
        {**base, "file": "../../etc/passwd"},
        {**base, "file": "remboursements.pdf", "birth_name": "AUTRE"},
    ]))
    out = carnet(settings, "import-documents", str(manifest))
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert [r["status"] for r in report] == ["created", "rejected", "rejected", "rejected"], report
    assert "birth_name" in report[3]["reason"]


def test_cleanup_finds_and_deletes_orphan_blobs(run, settings):
    orphan = uuid.uuid4().hex
    run(blob_store(settings).put, orphan, b"left behind by a crash")
    listed = carnet(settings, "documents-cleanup")
    assert listed.returncode == 0 and orphan in listed.stdout.split()
    assert run(blob_store(settings).exists, orphan)
    carnet(settings, "documents-cleanup", "--delete")
    assert not run(blob_store(settings).exists, orphan)


def test_verify_audit_reports_an_intact_chain(settings):
    out = carnet(settings, "verify-audit")
    assert out.returncode == 0 and "chain intact" in out.stdout
