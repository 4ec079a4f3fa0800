"""The refused-actor matrix, generated from the committed OpenAPI.

Every operation whose path carries an id meets every kind of actor who must be
refused: another citizen, a revoked caregiver, a caregiver without the scope
the action needs, a parent on a minor's secret, a professional with no basis, a
blocked professional who had a basis before, a professional who is not the
author, a citizen on a professional endpoint. Each row asserts the exact status,
the exact access-history outcome (no event, or one ``refused`` event with its
reason) and that nothing else changed. A new operation with an id and no row
fails ``test_every_operation_with_an_id_has_rows``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.access import history
from backend.core import database
from tests.conftest import PUBLIC_URL
from tests.docworld import make_pro, pdf
from tests.soft_authenticator import SoftAuthenticator

OPENAPI = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "openapi.json").read_text())
PROBLEM = "application/problem+json"


def operations_with_an_id() -> dict[str, tuple[str, str]]:
    """operationId -> (method, path) for every operation whose path has a parameter."""
    found = {}
    for path, item in OPENAPI["paths"].items():
        if "{" in path:
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    found[op["operationId"]] = (method.upper(), path)
    return found


@dataclass(frozen=True)
class Row:
    """One refused actor on one operation."""

    actor: str  # key of MatrixWorld.clients
    status: int
    audit: tuple[str, str] | None = None  # (action, purpose) of the one refused event, or no event
    target: str = "patient"  # whose ids fill the path: patient | child | secret (the minor's secret)


# Ids in paths: profile_id, document_id, professional_id, delegation_id, access_id, passkey_id, handle.
CITIZEN_PROFILE = [Row("other", 404), Row("revoked", 404), Row("stranger", 404)]
NEEDS_SCOPE = {"scoped": [Row("card_only", 404)], "owner": [Row("caregiver", 404)]}
# The record's own list answers professionals with the same rules (and records their refusal).
RECORD_LIST = [Row("other", 404), Row("revoked", 404), Row("card_only", 404),
               Row("stranger", 404, ("{action}", "no care relationship")),
               Row("ex_gp", 404, ("{action}", "blocked"))]
DOC_READ = [
    Row("other", 404), Row("revoked", 404), Row("card_only", 404),
    Row("stranger", 404, ("{action}", "no care relationship")),
    Row("ex_gp", 404, ("{action}", "blocked")),
    Row("pharmacist", 404, ("{action}", "outside the actor's rights"), target="psych"),
    Row("parent", 404, ("{action}", "outside the actor's rights"), target="secret"),
]
DOC_MANAGE = [*DOC_READ, Row("caregiver", 404, ("{action}", "not the record's owner")),
              Row("gp", 404, ("{action}", "not the record's owner"))]
PRO_PATIENT = [Row("patient_self", 403), Row("caregiver", 403),
               Row("stranger", 404, ("{action}", "no care relationship")),
               Row("ex_gp", 404, ("{action}", "blocked"))]
PRO_DOCUMENT = [Row("patient_self", 403),
                Row("granted", 404, ("{action}", "not the author")),
                Row("stranger", 404, ("{action}", "no care relationship")),
                Row("ex_gp", 404, ("{action}", "blocked"))]
ACCOUNT = [Row("other", 404), Row("caregiver", 404), Row("stranger", 404)]

MATRIX: dict[str, tuple[str, list[Row]]] = {
    # operationId: (audited action, rows)
    "getDocument": ("document.read", DOC_READ),
    "documentContent": ("document.download", DOC_READ),
    "maskDocument": ("document.mask", DOC_MANAGE),
    "deleteDocument": ("document.delete", DOC_MANAGE),
    "proAnnounceDocument": ("document.announce", PRO_DOCUMENT),
    "proArchiveDocument": ("document.archive", PRO_DOCUMENT),
    "proReplaceDocument": ("document.replace", PRO_DOCUMENT),
    "proGetPatient": ("patient.read", PRO_PATIENT),
    "proListDocuments": ("documents.list", PRO_PATIENT),
    "proSearchDocuments": ("documents.list", PRO_PATIENT),
    "proDeclareEmergency": ("emergency.declare", [
        Row("patient_self", 403), Row("caregiver", 403), Row("ex_gp", 404, ("emergency.declare", "blocked")),
        Row("pharmacist", 403, ("emergency.declare", "patient hors d'état de consentir — {reason}"))]),
    "listDocuments": ("documents.list", RECORD_LIST),
    "searchDocuments": ("documents.list", RECORD_LIST),
    "addDocument": ("document.add", RECORD_LIST + [Row("reader", 404)]),
    "getCard": ("", CITIZEN_PROFILE + [Row("caregiver", 404)]),
    "presentCard": ("", CITIZEN_PROFILE + [Row("caregiver", 404)]),
    **{op: ("", CITIZEN_PROFILE + NEEDS_SCOPE["owner"] + [Row("card_only", 404)]) for op in (
        "accessHistory", "blockProfessional", "unblockProfessional", "careTeam", "addCareRelation",
        "removeCareRelation", "closeSpace", "closureRules", "listDelegations", "createDelegation",
        "exportAll", "notifications", "getPrivacy", "setPrivacy", "researchChoices", "listTemporaryAccess",
        "createTemporaryAccess", "revokeDelegation", "revokeTemporaryAccess")},
    "deletePasskey": ("", ACCOUNT),
    "revokeSession": ("", ACCOUNT),
}

BODIES = {
    "maskDocument": {"json": {"masked": True}},
    "proSearchDocuments": {"json": {}},
    "searchDocuments": {"json": {}},
    "proDeclareEmergency": {"json": {"context": "unconscious_patient",
                                     "reason": "Patient inconscient aux urgences, antécédents ?"}},
    "blockProfessional": {"json": {"rpps": "{stranger_rpps}"}},
    "addCareRelation": {"json": {"rpps": "{stranger_rpps}", "role": "granted"}},
    "closeSpace": {"json": {"confirmation": "FERMER"}},
    "createDelegation": {"json": {"label": "x", "scopes": ["present_card"], "ends_at": "{future}"}},
    "setPrivacy": {"json": {"emergency_access_opposed": True}},
    "createTemporaryAccess": {"json": {"minutes": 30, "label": "x"}},
}
UPLOADS = {"addDocument", "proReplaceDocument"}


@dataclass
class MatrixWorld:
    clients: dict
    ids: dict
    patient: str
    child: str


def _fingerprint(run) -> list:
    """Everything a refused request must leave as it was (access events and session touches aside)."""
    queries = [
        "SELECT id, status, masked, patient_visible_after, title FROM document ORDER BY id",
        "SELECT id, revoked_at, ends_at FROM delegation ORDER BY id",
        "SELECT id, revoked_at, role FROM care_relation ORDER BY id",
        "SELECT id FROM professional_block ORDER BY id",
        "SELECT id, revoked_at, redeemed_at FROM temporary_access ORDER BY id",
        "SELECT id, expires_at FROM emergency_access ORDER BY id",
        "SELECT id FROM passkey ORDER BY id",
        "SELECT id FROM user_session WHERE stage = 'active' ORDER BY id",
        "SELECT id, emergency_access_opposed, closed_at FROM insured_person ORDER BY id",
        "SELECT id, choice FROM research_choice ORDER BY id",
    ]
    return [run(database.fetch, q) for q in queries]


@pytest.fixture
def matrix_world(snapshots, world, main_client, run, settings) -> MatrixWorld:
    """The record world plus a blocked professional who had a basis, a passkey, a session and codes."""
    if "matrix" not in snapshots.taken:
        patient = world.patient
        pid = patient.person_id
        ex_gp = make_pro(main_client, run, settings, "10", "ANCIEN")
        assert patient.api.post(f"/api/profiles/{pid}/care-team",
                                json={"rpps": ex_gp.rpps, "role": "granted"}).status_code == 204
        assert ex_gp.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200  # had a basis
        assert patient.api.post(f"/api/profiles/{pid}/blocks", json={"rpps": ex_gp.rpps}).status_code == 204
        # The pharmacist is in the care team: the matrix, not the basis, keeps the psychiatric summary away.
        assert patient.api.post(f"/api/profiles/{pid}/care-team", json={
            "rpps": world.pros["pharmacist"].rpps, "role": "granted"}).status_code == 204
        auth = SoftAuthenticator(PUBLIC_URL, "localhost")
        opts = patient.api.post("/api/credentials/passkeys/options").json()
        assert patient.api.post("/api/credentials/passkeys", json={
            "challenge_id": opts["challenge_id"], "credential": auth.create(opts["options"])}).status_code == 201
        temp = patient.api.post(f"/api/profiles/{pid}/temporary-access", json={"minutes": 30, "label": "x"})
        ids = {
            "document_id": world.docs["lab"], "psych": world.docs["psych"], "secret": world.docs["child_secret"],
            "professional_id": world.pros["granted"].id, "delegation_id": world.citizens["caregiver"].delegation_id,
            "access_id": temp.json()["id"],
            "passkey_id": patient.api.get("/api/security/passkeys").json()[0]["id"],
            "handle": next(s["id"] for s in patient.api.get("/api/security").json()["sessions"] if s["current"]),
            "stranger_rpps": world.pros["stranger"].rpps,
        }
        reader = _reader_caregiver(patient, main_client, run, settings)
        clients = {
            "other": world.citizens["other"].api, "revoked": world.citizens["revoked"].api,
            "card_only": world.citizens["card_only"].api, "caregiver": world.citizens["caregiver"].api,
            "reader": reader.api, "parent": patient.api, "patient_self": patient.api,
            "stranger": world.pros["stranger"].api, "ex_gp": ex_gp.api, "gp": world.pros["gp"].api,
            "granted": world.pros["granted"].api, "pharmacist": world.pros["pharmacist"].api,
        }
        snapshots.take("matrix", MatrixWorld(clients, ids, pid, world.child_id))
    return snapshots.restore("matrix")


def _reader_caregiver(patient, main_client, run, settings):
    """A caregiver who may read the documents but not add any."""
    from tests.conftest import Api
    from tests.factories import activated_citizen

    reader = activated_citizen(lambda lang="fr": Api(main_client, lang), run, settings, birth_name="LECTEUR")
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    d = patient.api.post(f"/api/profiles/{patient.person_id}/delegations",
                         json={"label": "lecture", "scopes": ["read_documents"], "ends_at": ends}).json()
    assert reader.api.post("/api/delegations/accept", json={"code": d["invitation_code"]}).status_code == 200
    return reader


def _request(mw: MatrixWorld, op: str, row: Row) -> tuple[str, str, dict]:
    method, path = operations_with_an_id()[op]
    ids = dict(mw.ids)
    ids["profile_id"] = mw.child if row.target in ("child", "secret") else mw.patient
    if row.target == "secret":
        ids["document_id"] = ids["secret"]
    elif row.target == "psych":
        ids["document_id"] = ids["psych"]
    url = path.format(**ids)
    kwargs = json.loads(json.dumps(BODIES.get(op, {})).replace("{future}", (
        datetime.now(UTC) + timedelta(days=3)).isoformat()).replace("{stranger_rpps}", ids["stranger_rpps"]))
    if op in UPLOADS:
        kwargs = {"data": {"title": "Nouvelle version"}, "files": {"file": ("a.pdf", pdf(), "application/pdf")}}
    return method, url, kwargs


ROWS = [pytest.param(op, row, id=f"{op}-{row.actor}-{row.target}") for op, (_, rows) in MATRIX.items()
        for row in rows]


def test_every_operation_with_an_id_has_rows():
    documented = set(operations_with_an_id())
    assert documented - set(MATRIX) == set(), "operations with an id and no refused-actor row"
    assert set(MATRIX) - documented == set(), "rows for operations that no longer exist"
    assert all(rows for _, rows in MATRIX.values())


@pytest.mark.parametrize("op, row", ROWS)
def test_a_refused_actor_is_refused_exactly(matrix_world, run, op, row):
    mw = matrix_world
    person = uuid.UUID(mw.child if row.target in ("child", "secret") else mw.patient)
    others = [uuid.UUID(p) for p in (mw.patient, mw.child) if uuid.UUID(p) != person]
    before = {p: run(history.history, p, limit=1000) for p in (person, *others)}
    state = _fingerprint(run)
    method, url, kwargs = _request(mw, op, row)
    r = mw.clients[row.actor].request(method, url, **kwargs)
    assert r.status_code == row.status, f"{method} {url} as {row.actor}: {r.status_code} {r.text[:200]}"
    assert r.headers["content-type"].startswith(PROBLEM)
    assert _fingerprint(run) == state, "a refused request changed something"
    new = run(history.history, person, limit=1000)[: -len(before[person]) or None]
    if len(before[person]) == 0:
        new = run(history.history, person, limit=1000)
    for other in others:
        assert len(run(history.history, other, limit=1000)) == len(before[other])
    if row.audit is None:
        assert new == [], f"unexpected access events: {new}"
    else:
        action, purpose = row.audit
        action = action.format(action=MATRIX[op][0])
        reason = BODIES.get(op, {}).get("json", {}).get("reason", "")
        assert [(e["action"], e["outcome"], e["purpose"]) for e in new] == [
            (action, "refused", purpose.format(reason=reason))]
