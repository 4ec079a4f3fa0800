"""The refused-actor matrix, generated from the committed OpenAPI.

Every operation whose path carries an id, and every operation that takes an
access code or a presented token, meets each kind of actor who must be
refused: another citizen, a revoked caregiver, a caregiver without the scope
the action needs, a caregiver who may read but not manage, a parent on a
minor's secret, a professional with no basis, a blocked professional who had a
basis (and wrote a document) before, a professional who is not the author, an
expired, revoked or used code. Each row asserts the exact status, the exact
access-history outcome (no event, or one ``refused`` event with its reason)
and that nothing else changed. For each operation, the legitimate actor sends
the same request and succeeds, so no refusal passes because the request itself
was broken.

To cover a new endpoint, add one entry to ``MATRIX`` (and its body to
``BODIES``); ``test_every_operation_with_an_id_or_a_code_has_rows`` fails until
then.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.access import history
from backend.accounts.tables import UserSession
from backend.card.services import PRESENTATION, signer
from backend.core import database
from backend.core.auth import utcnow
from tests.conftest import PUBLIC_URL, Api
from tests.docworld import feed, make_pro, pdf, row_of
from tests.factories import activated_citizen
from tests.soft_authenticator import SoftAuthenticator

OPENAPI = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "openapi.json").read_text())
PROBLEM = "application/problem+json"
METHODS = ("get", "post", "put", "patch", "delete")
# Login, activation and enrolment steps take one-time codes too; they are the accounts tests' business.
CREDENTIAL_STEPS = ("/api/auth/", "/api/credentials/", "/api/activation")


def _operations() -> dict[str, tuple[str, str, dict]]:
    """operationId -> (METHOD, path, operation) for every documented operation."""
    return {op["operationId"]: (method.upper(), path, op)
            for path, item in OPENAPI["paths"].items() for method, op in item.items() if method in METHODS}


def _schema(schema: dict) -> dict:
    while "$ref" in schema:
        schema = OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _body_schema(op: dict) -> tuple[str, dict] | None:
    """(content type, resolved schema) of an operation's request body, if it has one."""
    content = op.get("requestBody", {}).get("content", {})
    for media_type, value in content.items():
        return media_type, _schema(value["schema"])
    return None


# Public directory entries: every logged-in actor may read them, so no actor is refused; the
# logged-out caller (401) and the unknown id (404) are tested in tests/test_structures.py.
OPEN_TO_EVERY_ACTOR = {"getStructure"}


def operations_in_scope() -> set[str]:
    """Operations with a path parameter, and those whose body carries a ``code`` or a ``token``."""
    found = set()
    for name, (_, path, op) in _operations().items():
        body = _body_schema(op)
        carries_code = body is not None and {"code", "token"} & set(body[1].get("properties", {}))
        if "{" in path or (carries_code and not path.startswith(CREDENTIAL_STEPS)):
            found.add(name)
    return found - OPEN_TO_EVERY_ACTOR


# Reason codes the access history stores for a refusal (the citizen reads them in words).
NO_BASIS = "no care relationship"
BLOCKED = "blocked"
OUTSIDE = "outside the actor's rights"
NOT_OWNER = "not the record's owner"
NOT_AUTHOR = "not the author"
NOT_CITIZENS = "not added by the citizen side"
REASON = "Patient inconscient aux urgences, antécédents ?"
USED_TOKEN = "token-used"
REVOKED_TOKEN = "delegation-ended"


@dataclass(frozen=True)
class Row:
    """One refused actor on one operation.

    ``audit`` is ``None`` when the request must leave no access event, else the
    purpose of the one ``refused`` event it must leave on the target's person.
    ``on`` names the target (see :meth:`MatrixWorld.target`), the operation's own by default.
    """

    actor: str
    status: int
    audit: str | None = None
    on: str | None = None


@dataclass(frozen=True)
class Op:
    """An operation's refused actors, the action their refusals record, and who may do it."""

    action: str
    owner: str  # the actor for whom the same request succeeds
    rows: list[Row]
    on: str = "patient"


# --- the table ------------------------------------------------------------------------------

NOT_RELATED = [Row("other", 404), Row("revoked", 404), Row("stranger", 404)]
# Professionals whose temporary code was redeemed, then revoked by the patient or run out.
LAPSED_CODES = [Row("lapsed", 404, NO_BASIS), Row("expired", 404, NO_BASIS)]
# Preferences, card, history: the citizen or a parent; no caregiver scope covers them.
OWNER_ONLY = [*NOT_RELATED, Row("caregiver", 404), Row("card_only", 404), Row("ex_gp", 404)]
# Delegations and closing the space: the citizen themself, not even a parent.
SELF_ONLY = [*OWNER_ONLY, Row("parent", 404, on="child")]
DOC_READ = [
    Row("other", 404), Row("revoked", 404), Row("card_only", 404),
    Row("stranger", 404, NO_BASIS), *LAPSED_CODES,
    Row("ex_gp", 404, BLOCKED), Row("ex_gp", 404, BLOCKED, on="ex_doc"),
    Row("pharmacist", 404, OUTSIDE, on="psych"), Row("granted", 404, OUTSIDE, on="masked"),
    Row("granted", 404, OUTSIDE, on="unannounced"), Row("parent", 404, OUTSIDE, on="secret"),
    Row("patient", 404, on="unannounced"),
]
DOC_MANAGE = [*DOC_READ, Row("caregiver", 404, NOT_OWNER), Row("gp", 404, NOT_OWNER)]
AUTHOR_ONLY = [
    Row("patient", 403), Row("caregiver", 403), Row("granted", 404, NOT_AUTHOR),
    Row("gp", 404, NOT_AUTHOR, on="imaging"), Row("pharmacist", 404, OUTSIDE, on="psych"),
    Row("stranger", 404, NO_BASIS), Row("ex_gp", 404, BLOCKED, on="ex_doc"),
]
PRO_PATIENT = [Row("patient", 403), Row("caregiver", 403), Row("stranger", 404, NO_BASIS), *LAPSED_CODES,
               Row("ex_gp", 404, BLOCKED)]
RECORD_LIST = [Row("other", 404), Row("revoked", 404), Row("card_only", 404),
               Row("stranger", 404, NO_BASIS), *LAPSED_CODES, Row("ex_gp", 404, BLOCKED)]
CARD = [*NOT_RELATED, Row("caregiver", 404), Row("ex_gp", 404)]  # card_only holds the card scope
ACCOUNT = [Row("other", 404), Row("caregiver", 404), Row("stranger", 404)]

MATRIX: dict[str, Op] = {
    # the record
    "listDocuments": Op("documents.list", "patient", RECORD_LIST),
    "searchDocuments": Op("documents.list", "patient", RECORD_LIST),
    "addDocument": Op("document.add", "patient", [*RECORD_LIST, Row("reader", 404), Row("gp", 404)]),
    "getDocument": Op("document.read", "patient", DOC_READ),
    "documentContent": Op("document.download", "patient", DOC_READ),
    "maskDocument": Op("document.mask", "patient", DOC_MANAGE),
    # The citizen's own upload; the citizen side may not delete a professional's document (409).
    "deleteDocument": Op("document.delete", "patient", [
        *DOC_MANAGE, Row("patient", 409, on="patient"), Row("parent", 409, NOT_CITIZENS, on="child_visit"),
    ], on="upload"),
    # professionals
    "proGetPatient": Op("patient.read", "gp", PRO_PATIENT),
    "proListDocuments": Op("documents.list", "gp", PRO_PATIENT),
    "proSearchDocuments": Op("documents.list", "gp", PRO_PATIENT),
    "proAnnounceDocument": Op("document.announce", "gp", AUTHOR_ONLY),
    "proArchiveDocument": Op("document.archive", "gp", AUTHOR_ONLY),
    "proReplaceDocument": Op("document.replace", "gp", AUTHOR_ONLY),
    "proDeclareEmergency": Op("emergency.declare", "stranger", [
        Row("patient", 403), Row("caregiver", 403), Row("other", 403), Row("ex_gp", 404, BLOCKED),
        Row("pharmacist", 403, f"patient hors d'état de consentir — {REASON}")]),
    # codes and presented tokens
    "proRedeemTemporaryAccess": Op("temporary_access.redeem", "stranger", [
        Row("stranger", 422, "", on="revoked_code"), Row("stranger", 422, "", on="expired_code"),
        Row("stranger", 422, "", on="used_code"), Row("ex_gp", 422, "", on="pre_block_code"),
        Row("patient", 403), Row("caregiver", 403)], on="fresh_code"),
    "verifyPresentation": Op("card.verify", "stranger", [
        Row("stranger", 422, USED_TOKEN, on="used_token"),
        Row("stranger", 422, REVOKED_TOKEN, on="revoked_delegation_token"),
        Row("stranger", 422, on="expired_token"), Row("patient", 403), Row("card_only", 403)],
        on="fresh_token"),
    "acceptDelegation": Op("delegation.accept", "other", [
        Row("other", 422, on="used_invitation"), Row("other", 422, on="revoked_invitation"),
        Row("other", 422, on="expired_invitation"), Row("stranger", 404), Row("patient", 409)],
        on="fresh_invitation"),
    # the card
    "getCard": Op("card.read", "patient", CARD),
    "presentCard": Op("card.present", "patient", CARD),
    # access preferences, history, notices
    **{name: Op("", "patient", OWNER_ONLY) for name in (
        "accessHistory", "careTeam", "addCareRelation", "removeCareRelation", "blockProfessional",
        "getPrivacy", "setPrivacy", "researchChoices", "listTemporaryAccess", "createTemporaryAccess",
        "revokeTemporaryAccess", "notifications", "exportAll", "closureRules")},
    "unblockProfessional": Op("", "patient", OWNER_ONLY, on="blocked_pro"),
    "listDelegations": Op("", "patient", SELF_ONLY),
    "createDelegation": Op("", "patient", SELF_ONLY),
    "revokeDelegation": Op("", "patient", OWNER_ONLY),
    "closeSpace": Op("", "patient", SELF_ONLY),
    # the account
    "deletePasskey": Op("", "patient", ACCOUNT),
    "revokeSession": Op("", "patient", ACCOUNT),
}

BODIES: dict[str, dict] = {
    "maskDocument": {"masked": True},
    "searchDocuments": {},
    "proSearchDocuments": {},
    "proDeclareEmergency": {"context": "unconscious_patient", "reason": REASON},
    "proRedeemTemporaryAccess": {"code": "{code}"},
    "verifyPresentation": {"token": "{token}"},
    "acceptDelegation": {"code": "{code}"},
    "blockProfessional": {"rpps": "{rpps}"},
    "addCareRelation": {"rpps": "{rpps}", "role": "granted"},
    "setPrivacy": {"emergency_access_opposed": True},
    "createTemporaryAccess": {"minutes": 30, "label": "Pharmacie"},
    "createDelegation": {"label": "Aide", "scopes": ["present_card"], "ends_at": "{future}"},
    "closeSpace": {"confirmation": "FERMER"},
}
UPLOADS = {"addDocument": {"title": "Photo d'ordonnance"}, "proReplaceDocument": {"title": "Nouvelle version"}}


# --- the world ------------------------------------------------------------------------------


@dataclass
class MatrixWorld:
    """The record world with what the matrix adds: a blocked ex-GP, a read-only caregiver, codes."""

    clients: dict[str, Any]
    ids: dict[str, str]
    targets: dict[str, dict[str, str]]
    settings: Any = None
    lazy: dict[str, Callable[[MatrixWorld], dict[str, str]]] = field(default_factory=dict)

    def target(self, name: str) -> dict[str, str]:
        """Path ids and codes for one target: the patient's by default, some overridden.

        Codes and tokens that expire within minutes are made at request time.
        """
        over = self.lazy[name](self) if name in self.lazy else self.targets[name]
        return {**self.ids, **over}


def _fresh_sessions(run) -> None:
    """Every logged-in actor was active and proved themself just now.

    However long ago the world was built, refusals here are about rights, not the clock.
    """
    now = utcnow()
    run(lambda: UserSession.update({UserSession.authenticated_at: now, UserSession.last_seen_at: now}).where(
        UserSession.stage == "active"))


def _future(days: int = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _citizen(main_client, run, settings, name: str):
    return activated_citizen(lambda lang="fr": Api(main_client, lang), run, settings, birth_name=name)


def _delegation(patient, scopes: list[str]) -> dict:
    r = patient.api.post(f"/api/profiles/{patient.person_id}/delegations",
                         json={"label": "x", "scopes": scopes, "ends_at": _future()})
    assert r.status_code == 201, r.text
    return r.json()


def _temporary(patient) -> dict:
    r = patient.api.post(f"/api/profiles/{patient.person_id}/temporary-access", json={"minutes": 24 * 60})
    assert r.status_code == 201, r.text
    return r.json()


def _present(api, pid: str) -> str:
    r = api.post(f"/api/profiles/{pid}/presentations")
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _used_token(mw: MatrixWorld) -> dict[str, str]:
    token = _present(mw.clients["patient"], mw.ids["profile_id"])
    assert mw.clients["gp"].post("/api/pro/presentations/verify", json={"token": token}).status_code == 200
    return {"token": token}


def _revoked_delegation_token(mw: MatrixWorld) -> dict[str, str]:
    token = _present(mw.clients["card_only"], mw.ids["profile_id"])
    assert mw.clients["patient"].delete(f"/api/delegations/{mw.ids['card_only_delegation']}").status_code == 204
    return {"token": token}


def _expired_token(mw: MatrixWorld) -> dict[str, str]:
    token, _, _ = signer(mw.settings).issue(PRESENTATION, mw.ids["profile_id"], -3600)
    return {"token": token}


LAZY: dict[str, Callable[[MatrixWorld], dict[str, str]]] = {
    "fresh_code": lambda mw: {"code": mw.clients["patient"].post(
        f"/api/profiles/{mw.ids['profile_id']}/temporary-access", json={"minutes": 30}).json()["code"]},
    "fresh_token": lambda mw: {"token": _present(mw.clients["patient"], mw.ids["profile_id"])},
    "used_token": _used_token,
    "revoked_delegation_token": _revoked_delegation_token,
    "expired_token": _expired_token,
    "fresh_invitation": lambda mw: {"code": mw.clients["patient"].post(
        f"/api/profiles/{mw.ids['profile_id']}/delegations",
        json={"label": "x", "scopes": ["present_card"], "ends_at": _future()}).json()["invitation_code"]},
}


@pytest.fixture
def matrix_world(snapshots, world, main_client, run, settings) -> MatrixWorld:
    """Built once from the record world, restored before every row."""
    if "matrix" not in snapshots.taken:
        _fresh_sessions(run)
        snapshots.take("matrix", _build(world, main_client, run, settings))
    return snapshots.restore("matrix")


def _build(world, main_client, run, settings) -> MatrixWorld:
    patient = world.patient
    pid = patient.person_id
    care_team = f"/api/profiles/{pid}/care-team"
    # A GP granted access, who read the record and wrote a document, then was blocked.
    ex_gp = make_pro(main_client, run, settings, "10", "ANCIEN")
    assert patient.api.post(care_team, json={"rpps": ex_gp.rpps, "role": "granted"}).status_code == 204
    assert ex_gp.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    ex_doc = feed(ex_gp, run(row_of, pid), "11502-2", "Bilan de l'ancien médecin")
    pre_block = _temporary(patient)
    assert patient.api.post(f"/api/profiles/{pid}/blocks", json={"rpps": ex_gp.rpps}).status_code == 204
    # The pharmacist is in the care team: the profession's matrix, not the basis, keeps psychiatry away.
    assert patient.api.post(care_team, json={"rpps": world.pros["pharmacist"].rpps,
                                             "role": "granted"}).status_code == 204
    upload = patient.api.post(f"/api/profiles/{pid}/documents", data={"title": "Photo de carnet"},
                              files={"file": ("p.pdf", pdf(), "application/pdf")})
    assert upload.status_code == 201, upload.text
    auth = SoftAuthenticator(PUBLIC_URL, "localhost")
    opts = patient.api.post("/api/credentials/passkeys/options").json()
    assert patient.api.post("/api/credentials/passkeys", json={
        "challenge_id": opts["challenge_id"], "credential": auth.create(opts["options"])}).status_code == 201
    # Codes: one pending, one revoked, one expired, one used by another professional.
    pending, revoked, expired, used, lapsed_code, run_out = (_temporary(patient) for _ in range(6))
    assert patient.api.delete(f"/api/temporary-access/{revoked['id']}").status_code == 204
    assert world.pros["podiatrist"].api.post("/api/pro/temporary-access/redeem",
                                             json={"code": used["code"]}).status_code == 200
    # Two physicians who read the record with a code, until the patient revoked it or it ran out.
    lapsed, expired_pro = (make_pro(main_client, run, settings, "10", name) for name in ("REVOLU", "ECHU"))
    for pro, code in ((lapsed, lapsed_code), (expired_pro, run_out)):
        assert pro.api.post("/api/pro/temporary-access/redeem", json={"code": code["code"]}).status_code == 200
        assert pro.api.get(f"/api/pro/patients/{pid}/documents").status_code == 200
    assert patient.api.delete(f"/api/temporary-access/{lapsed_code['id']}").status_code == 204
    # Invitations: one used (the read-only caregiver's), one revoked, one past its week.
    reader = _citizen(main_client, run, settings, "LECTEUR")
    read_only = _delegation(patient, ["read_documents"])
    assert reader.api.post("/api/delegations/accept", json={"code": read_only["invitation_code"]}
                           ).status_code == 200
    revoked_invite, expired_invite = _delegation(patient, ["present_card"]), _delegation(patient, ["present_card"])
    assert patient.api.delete(f"/api/delegations/{revoked_invite['id']}").status_code == 204

    async def age_codes() -> None:
        from backend.access.tables import Delegation, TemporaryAccess

        await TemporaryAccess.update({TemporaryAccess.expires_at: utcnow() - timedelta(seconds=1)}).where(
            TemporaryAccess.id.is_in([expired["id"], run_out["id"]]))
        await Delegation.update({Delegation.created_at: utcnow() - timedelta(days=8)}).where(
            Delegation.id == expired_invite["id"])

    run(age_codes)
    docs = world.docs
    ids = {
        "profile_id": pid, "person": pid, "document_id": docs["lab"],
        "professional_id": world.pros["granted"].id, "rpps": world.pros["stranger"].rpps,
        "delegation_id": world.citizens["caregiver"].delegation_id,
        "card_only_delegation": world.citizens["card_only"].delegation_id,
        "access_id": pending["id"],
        "passkey_id": patient.api.get("/api/security/passkeys").json()[0]["id"],
        "handle": next(s["id"] for s in patient.api.get("/api/security").json()["sessions"] if s["current"]),
    }
    child = {"profile_id": world.child_id, "person": world.child_id}
    targets = {
        "patient": {}, "child": child,
        "secret": {**child, "document_id": docs["child_secret"]},
        "child_visit": {**child, "document_id": docs["child_visit"]},
        **{name: {"document_id": docs[name]} for name in ("psych", "masked", "unannounced", "imaging")},
        "ex_doc": {"document_id": ex_doc}, "upload": {"document_id": upload.json()["id"]},
        "blocked_pro": {"professional_id": ex_gp.id},
        "revoked_code": {"code": revoked["code"]}, "expired_code": {"code": expired["code"]},
        "used_code": {"code": used["code"]}, "pre_block_code": {"code": pre_block["code"]},
        "used_invitation": {"code": read_only["invitation_code"]},
        "revoked_invitation": {"code": revoked_invite["invitation_code"]},
        "expired_invitation": {"code": expired_invite["invitation_code"]},
    }
    citizens, pros = world.citizens, world.pros
    clients = {
        "patient": patient.api, "parent": patient.api, "other": citizens["other"].api,
        "revoked": citizens["revoked"].api, "card_only": citizens["card_only"].api,
        "caregiver": citizens["caregiver"].api, "reader": reader.api, "ex_gp": ex_gp.api,
        "lapsed": lapsed.api, "expired": expired_pro.api,
        **{key: pros[key].api for key in ("stranger", "gp", "granted", "pharmacist")},
    }
    return MatrixWorld(clients, ids, targets, settings, LAZY)


# --- sending a row and reading what it left -------------------------------------------------


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Replace ``"{name}"`` placeholders in a body with the target's values."""
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return _future() if value == "{future}" else values[value[1:-1]]
    return value


def _request(op: str, values: dict[str, str]) -> tuple[str, str, dict]:
    method, path, _ = _operations()[op]
    if op in UPLOADS:
        kwargs: dict = {"data": UPLOADS[op], "files": {"file": ("a.pdf", pdf(), "application/pdf")}}
    elif op in BODIES:
        kwargs = {"json": _fill(BODIES[op], values)}
    else:
        kwargs = {}
    return method, path.format(**values), kwargs


_STATE = (
    "SELECT id, status, masked, patient_visible_after, title, version, sha256 FROM document ORDER BY id",
    "SELECT id, revoked_at, ends_at, accepted_at, delegate FROM delegation ORDER BY id",
    "SELECT id, revoked_at, role FROM care_relation ORDER BY id",
    "SELECT id FROM professional_block ORDER BY id",
    "SELECT id, revoked_at, redeemed_at, redeemed_by, expires_at FROM temporary_access ORDER BY id",
    "SELECT id, expires_at FROM emergency_access ORDER BY id",
    "SELECT id, used_at, used_by FROM card_presentation ORDER BY id",
    "SELECT id FROM passkey ORDER BY id",
    "SELECT id FROM user_session WHERE stage = 'active' ORDER BY id",
    "SELECT id, emergency_access_opposed, closed_at FROM insured_person ORDER BY id",
    "SELECT id, choice FROM research_choice ORDER BY id",
    "SELECT id, read_at FROM notification ORDER BY id",
)


def _state(run, settings) -> list:
    """Everything a refused request must leave as it was (access events and session touches aside)."""
    blobs = sorted(str(p) for p in settings.blob_dir.rglob("*")) if settings.blob_dir.exists() else []
    return [run(database.fetch, q) for q in _STATE] + [blobs]


def _last_event(run) -> int:
    return run(database.fetch, "SELECT COALESCE(MAX(id), 0) AS n FROM access_event")[0]["n"]


def _events_since(run, last: int) -> list[tuple]:
    rows = run(database.fetch, "SELECT id, person, action, outcome, purpose FROM access_event "
                               "WHERE id > {} ORDER BY id", last)
    return [(r["id"], str(r["person"]), r["action"], r["outcome"], r["purpose"]) for r in rows]


# --- messaging ---
# The registered GP writes to the patient; the rows name that thread, a file the patient sent in it,
# and the patient's inbox. A professional outside the thread is refused and recorded (no basis,
# blocked, or a basis but not in the conversation); a citizen without the right (another person, a
# caregiver without the ``messaging`` scope) is refused without an event, and so is a professional
# on the citizen side's inbox. Only the professional side closes a thread (403 for the patient).
NOT_IN_THREAD = "not a thread participant"
MESSAGING_CITIZENS = [Row("other", 404), Row("revoked", 404), Row("card_only", 404), Row("caregiver", 404),
                      Row("reader", 404)]
THREAD_REFUSED = [*MESSAGING_CITIZENS, Row("stranger", 404, NO_BASIS), *LAPSED_CODES, Row("ex_gp", 404, BLOCKED),
                  Row("granted", 404, NOT_IN_THREAD), Row("pharmacist", 404, NOT_IN_THREAD)]
INBOX_REFUSED = [*MESSAGING_CITIZENS, Row("stranger", 404), Row("ex_gp", 404), Row("gp", 404)]
MATRIX.update({
    "listThreads": Op("", "patient", INBOX_REFUSED, on="messaging_profile"),
    "startThread": Op("", "patient", INBOX_REFUSED, on="messaging_profile"),
    "getThread": Op("thread.read", "patient", THREAD_REFUSED, on="gp_thread"),
    "postMessage": Op("thread.reply", "patient", THREAD_REFUSED, on="gp_thread"),
    "uploadMessage": Op("thread.reply", "patient", THREAD_REFUSED, on="gp_thread"),
    "markThreadRead": Op("thread.read", "patient", THREAD_REFUSED, on="gp_thread"),
    "closeThread": Op("thread.close", "gp", [*THREAD_REFUSED, Row("patient", 403)], on="gp_thread"),
    "messageAttachment": Op("thread.attachment", "gp", THREAD_REFUSED, on="thread_attachment"),
})
BODIES.update({
    "startThread": {"structure_id": "{structure_id}", "text": "Mon ordonnance est-elle prête ?"},
    "postMessage": {"text": "Merci docteur."},
})
UPLOADS.update({"uploadMessage": {"text": "Voici la photo de l'ordonnance."}})


def _gp_thread(mw: MatrixWorld) -> dict[str, str]:
    pid = mw.ids["profile_id"]
    r = mw.clients["gp"].post("/api/pro/threads", json={"person_id": pid, "text": "Vos résultats sont arrivés."})
    assert r.status_code == 201, r.text
    return {"thread_id": r.json()["id"], "person_id": pid}


def _thread_attachment(mw: MatrixWorld) -> dict[str, str]:
    values = _gp_thread(mw)
    r = mw.clients["patient"].post(f"/api/threads/{values['thread_id']}/messages/upload", data={"text": "Photo"},
                                   files={"file": ("photo.pdf", pdf(), "application/pdf")})
    assert r.status_code == 201, r.text
    return {**values, "attachment_id": r.json()["attachments"][0]["id"]}


def _messaging_profile(mw: MatrixWorld) -> dict[str, str]:
    from backend.professionals.directory import search_structures

    found = mw.clients["patient"].blocking_portal.call(search_structures, "Pharmacie de la Gare")
    return {"person_id": mw.ids["profile_id"], "structure_id": str(found[0]["id"])}


LAZY.update({"gp_thread": _gp_thread, "thread_attachment": _thread_attachment,
             "messaging_profile": _messaging_profile})
_STATE += (
    "SELECT id, status, last_seq, citizen_read_seq, pro_read_seq, closed_at FROM message_thread ORDER BY id",
    "SELECT id FROM thread_message ORDER BY id",
    "SELECT id FROM message_attachment ORDER BY id",
)
# --- end of messaging ---


# --- prescriptions ---
# The registered GP wrote a prescription for the patient (``rx``); on ``rx_opened`` the pharmacist
# also opened it by its number, which gives their pharmacy the key to dispense. The citizen side
# reads (caregivers with ``read_documents``) and sends (``messaging``); professionals on the citizen
# side's endpoints are refused without an event. A prescriber without a basis, a blocked one, and a
# professional who neither wrote it nor holds its key are refused and recorded.
RX_CITIZENS = [Row("other", 404), Row("revoked", 404), Row("card_only", 404), Row("gp", 404),
               Row("pharmacist", 404)]
RX_PRO = [Row("patient", 403), Row("caregiver", 403), Row("ex_gp", 404, BLOCKED)]
MATRIX.update({
    "listPrescriptions": Op("", "patient", RX_CITIZENS),
    "getPrescription": Op("", "patient", RX_CITIZENS, on="rx"),
    "sendPrescription": Op("prescription.send", "patient", [*RX_CITIZENS, Row("reader", 404)], on="rx"),
    "getMyPharmacy": Op("", "patient", [*RX_CITIZENS, Row("reader", 404)], on="messaging_profile"),
    "setMyPharmacy": Op("", "patient", [*RX_CITIZENS, Row("reader", 404)], on="messaging_profile"),
    "proWritePrescription": Op("prescription.create", "gp", [
        *RX_PRO, Row("pharmacist", 403), Row("stranger", 404, NO_BASIS), *LAPSED_CODES]),
    "proListPrescriptions": Op("prescription.list", "gp", [
        *RX_PRO, Row("pharmacist", 404, OUTSIDE), Row("stranger", 404, NO_BASIS), *LAPSED_CODES]),
    "proGetPrescription": Op("prescription.read", "gp", [
        *RX_PRO, Row("pharmacist", 404, OUTSIDE), Row("stranger", 404, OUTSIDE),
        Row("granted", 404, OUTSIDE)], on="rx"),
    "proCancelPrescription": Op("prescription.cancel", "gp", [
        *RX_PRO, Row("pharmacist", 404, OUTSIDE, on="rx_opened"), Row("stranger", 404, OUTSIDE),
        Row("granted", 404, OUTSIDE)], on="rx"),
    "proDispensePrescription": Op("prescription.dispense", "pharmacist", [
        *RX_PRO, Row("gp", 403), Row("stranger", 403), Row("pharmacist", 404, OUTSIDE, on="rx")],
        on="rx_opened"),
})
_DOSAGE = {"dose_value": 1, "dose_unit": "comprimé", "frequency": 3, "duration_days": 5}
BODIES.update({
    "sendPrescription": {"structure_id": "{structure_id}", "note": "Je passe vers 18h."},
    "setMyPharmacy": {"structure_id": "{structure_id}"},
    "proWritePrescription": {"lines": [{"cis": "60234100", "dosage": _DOSAGE, "quantity": 1}],
                             "dispensing_visible": True},
    "proDispensePrescription": {"lines": [{"line_id": "{line_id}", "quantity": 1, "expected_dispensed": 0}]},
})


def _rx(mw: MatrixWorld) -> dict[str, str]:
    r = mw.clients["gp"].post(f"/api/pro/patients/{mw.ids['profile_id']}/prescriptions",
                              json=BODIES["proWritePrescription"])
    assert r.status_code == 201, r.text
    return {**_messaging_profile(mw), "prescription_id": r.json()["id"], "line_id": r.json()["lines"][0]["id"],
            "number": r.json()["number"]}


def _rx_opened(mw: MatrixWorld) -> dict[str, str]:
    values = _rx(mw)
    r = mw.clients["pharmacist"].post("/api/pro/prescriptions/lookup", json={"number": values["number"]})
    assert r.status_code == 200, r.text
    return values


LAZY.update({"rx": _rx, "rx_opened": _rx_opened})
_STATE += (
    "SELECT id, status, document, cancelled_at FROM prescription ORDER BY id",
    "SELECT id, dispensed FROM prescription_line ORDER BY id",
    "SELECT id FROM prescription_dispense ORDER BY id",
    "SELECT id, structure, via FROM prescription_opening ORDER BY id",
    "SELECT person, structure FROM my_pharmacy ORDER BY person",
)
# --- end of prescriptions ---


ROWS = [pytest.param(name, row, id=f"{name}-{row.actor}-{row.on or op.on}")
        for name, op in MATRIX.items() for row in op.rows]


# --- the tests ------------------------------------------------------------------------------


def test_every_operation_with_an_id_or_a_code_has_rows():
    in_scope = operations_in_scope()
    assert in_scope - set(MATRIX) == set(), "operations with an id or a code and no refused-actor row"
    assert set(MATRIX) - in_scope == set(), "rows for operations that no longer exist"
    assert all(op.rows for op in MATRIX.values())


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_body_fits_the_openapi(name):
    """Refusals are checked with valid requests: every required field, nothing unknown."""
    body = _body_schema(_operations()[name][2])
    sent = UPLOADS.get(name, BODIES.get(name))
    if body is None:
        assert sent is None, f"{name} takes no body"
        return
    media_type, schema = body
    assert sent is not None, f"{name} needs a body in BODIES or UPLOADS"
    keys = set(sent) | ({"file"} if name in UPLOADS else set())
    assert (media_type == "multipart/form-data") == (name in UPLOADS)
    assert set(schema.get("required", [])) <= keys <= set(schema.get("properties", {})), name


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_same_request_succeeds_for_the_rightful_actor(matrix_world, run, name):
    """The control: each refusal below is about the actor, never about a broken request."""
    mw, op = matrix_world, MATRIX[name]
    _fresh_sessions(run)
    method, url, kwargs = _request(name, mw.target(op.on))
    r = mw.clients[op.owner].request(method, url, **kwargs)
    assert 200 <= r.status_code < 300, f"{method} {url} as {op.owner}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("name, row", ROWS)
def test_a_refused_actor_is_refused_exactly(matrix_world, run, settings, name, row):
    mw, op = matrix_world, MATRIX[name]
    _fresh_sessions(run)
    values = mw.target(row.on or op.on)
    person = values["person"]
    method, url, kwargs = _request(name, values)
    last, state = _last_event(run), _state(run, settings)

    r = mw.clients[row.actor].request(method, url, **kwargs)

    assert r.status_code == row.status, f"{method} {url} as {row.actor}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith(PROBLEM)
    assert _state(run, settings) == state, "a refused request changed something"
    new = _events_since(run, last)
    expected = [] if row.audit is None else [(person, op.action, "refused", row.audit)]
    assert [e[1:] for e in new] == expected, f"access events left: {new}"
    # The person's own history shows exactly these events, newest first; a parent never sees the secret's.
    seen = run(history.history, uuid.UUID(person), limit=len(new) + 1)
    assert [e["id"] for e in seen if e["id"] > last] == [e[0] for e in reversed(new)]
    if new and row.on == "secret":
        guardians = run(history.history, uuid.UUID(person), viewer="parent", limit=history.MAX_LIMIT)
        assert new[0][0] not in {e["id"] for e in guardians}, "the minor's secret shows to the parents"
