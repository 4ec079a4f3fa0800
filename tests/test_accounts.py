"""Activation, two-factor login, passkeys, sessions, throttling."""

from __future__ import annotations

import pytest

from backend.accounts.tables import LoginThrottle, UserSession
from backend.core.auth import SESSION_COOKIE
from tests.conftest import PUBLIC_URL
from tests.factories import (
    PASSWORD,
    activated_citizen,
    fresh_totp,
    import_persons,
    person_row,
)
from tests.soft_authenticator import SoftAuthenticator

PROBLEM = "application/problem+json"


def _enrolling(make_api, row, code):
    """A client that passed activation (enrolment session, no credential yet)."""
    api = make_api()
    r = api.post("/api/activation", json={"nir": row["nir"], "activation_code": code,
                                          "birth_date": row["birth_date"]})
    assert r.status_code == 200, r.text
    return api


def _import_pending(run, settings, code="ABCD-EFGH-JKLM", **over):
    row = person_row(**over)
    [res] = import_persons(run, settings, [row], codes={row["nir"]: code})
    return row, code, res


def test_activation_with_password_and_totp_then_login(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    me = citizen.api.get("/api/me")
    assert me.status_code == 200
    assert me.json()["profiles"][0]["id"] == citizen.person_id

    api = make_api()
    r = api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"next": "totp"}
    # Only the first factor so far: the API is still closed.
    assert api.get("/api/me").status_code == 401
    first_cookie = api.cookies.get(SESSION_COOKIE)
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(citizen.totp_secret)})
    assert r.status_code == 200, r.text
    assert api.cookies.get(SESSION_COOKIE) != first_cookie  # new session id at login
    assert api.get("/api/me").status_code == 200


def test_activation_code_is_single_use_and_space_cannot_be_reactivated(make_api, run, settings):
    row, code, _ = _import_pending(run, settings)
    api = make_api()
    body = {"nir": row["nir"], "activation_code": code, "birth_date": row["birth_date"]}
    assert api.post("/api/activation", json=body).status_code == 200
    r = api.post("/api/credentials/password", json={"password": PASSWORD})
    api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(r.json()["totp_secret"])})
    again = make_api().post("/api/activation", json=body)
    assert again.status_code == 401
    assert again.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("field", ["nir", "activation_code", "birth_date"])
def test_activation_errors_do_not_reveal_which_part_is_wrong(make_api, run, settings, field):
    row, code, _ = _import_pending(run, settings, code=f"WXYZ-{field[:4].upper()}-2345")
    body = {"nir": row["nir"], "activation_code": code, "birth_date": row["birth_date"]}
    body[field] = {"nir": person_row()["nir"], "activation_code": "NOPE-NOPE-NOPE",
                   "birth_date": "1901-01-01"}[field]
    r = make_api().post("/api/activation", json=body)
    assert r.status_code == 401
    assert r.json()["detail"] == "NIR, code d'activation ou date de naissance incorrects."


def test_expired_activation_code_is_refused_with_reason(make_api, run, settings):
    from datetime import timedelta

    from backend.core.auth import utcnow
    from backend.identity.tables import ActivationCode

    row, code, res = _import_pending(run, settings, code="EXPI-REDC-ODE2")
    run(lambda: ActivationCode.update({ActivationCode.expires_at: utcnow() - timedelta(days=1)}).where(
        ActivationCode.person == res.person_id))
    r = make_api().post("/api/activation", json={"nir": row["nir"], "activation_code": code,
                                                 "birth_date": row["birth_date"]})
    assert r.status_code == 401
    assert "expiré" in r.json()["detail"]


def test_enrolment_session_cannot_read_the_card(make_api, run, settings):
    row, code, res = _import_pending(run, settings, code="ENRO-LLME-NT22")
    api = _enrolling(make_api, row, code)
    assert api.get(f"/api/profiles/{res.person_id}/card").status_code == 401


def test_wrong_password_and_unknown_account_answer_the_same(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    wrong = make_api().post("/api/auth/login", json={"identifier": citizen.nir, "password": "nope" * 4})
    unknown = make_api().post("/api/auth/login", json={"identifier": person_row()["nir"],
                                                       "password": "nope" * 4})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_wrong_and_replayed_totp_are_refused(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    api = make_api()
    api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert api.post("/api/auth/login/totp", json={"code": "000000"}).status_code == 401
    code = fresh_totp(citizen.totp_secret)
    assert api.post("/api/auth/login/totp", json={"code": code}).status_code == 200
    replay = make_api()
    replay.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    r = replay.post("/api/auth/login/totp", json={"code": code})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    # The password was accepted: the refusal names the code, not "identifier, password or code".
    assert r.json()["detail"].startswith("Code incorrect ou déjà utilisé")
    assert r.json()["errors"] == [{"field": "code", "rule": "totp", "message": "code incorrect"}]
    wrong_password = make_api().post("/api/auth/login", json={"identifier": citizen.nir, "password": "x" * 12})
    assert wrong_password.json()["detail"] == "Identifiant, mot de passe ou code incorrect."


def test_malformed_totp_is_a_validation_error(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    api = make_api()
    api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    r = api.post("/api/auth/login/totp", json={"code": "12ab"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "code"


def test_failures_slow_down_then_lock_even_with_the_right_password(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    api = make_api()
    for _ in range(3):
        assert api.post("/api/auth/login", json={"identifier": citizen.nir,
                                                 "password": "wrong password!"}).status_code == 401
    slowed = api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    # Jump to the edge of the lock: one more failure locks the key for a while.
    run(lambda: LoginThrottle.update({LoginThrottle.failures: 9, LoginThrottle.blocked_until: None}).where(
        LoginThrottle.failures == 3))
    assert api.post("/api/auth/login", json={"identifier": citizen.nir,
                                             "password": "wrong again!!"}).status_code == 401
    locked = api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert locked.status_code == 429
    assert "bloquées" in locked.json()["detail"]
    assert int(locked.headers["retry-after"]) > 600
    rows = run(lambda: LoginThrottle.select(LoginThrottle.failures).where(LoginThrottle.failures >= 10))
    assert rows, "the lock lives in the database"


def test_passkey_registration_then_login(make_api, run, settings):
    row, code, res = _import_pending(run, settings, code="PASS-KEYS-2345")
    api = _enrolling(make_api, row, code)
    auth = SoftAuthenticator(PUBLIC_URL, "localhost")
    opts = api.post("/api/credentials/passkeys/options").json()
    assert opts["options"]["authenticatorSelection"]["userVerification"] == "required"
    r = api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                    "credential": auth.create(opts["options"]),
                                                    "label": "Téléphone"})
    assert r.status_code == 201, r.text
    assert api.get("/api/me").status_code == 200  # activation completed, full session

    other = make_api()
    opts = other.post("/api/auth/passkey/options").json()
    r = other.post("/api/auth/passkey/login", json={"challenge_id": opts["challenge_id"],
                                                     "credential": auth.get(opts["options"])})
    assert r.status_code == 200, r.text
    assert other.get("/api/me").json()["profiles"][0]["id"] == res.person_id


def test_passkey_challenge_is_single_use_and_forged_signature_refused(make_api, run, settings):
    row, code, _ = _import_pending(run, settings, code="PASS-KEYT-WO23")
    api = _enrolling(make_api, row, code)
    auth = SoftAuthenticator(PUBLIC_URL, "localhost")
    opts = api.post("/api/credentials/passkeys/options").json()
    api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                "credential": auth.create(opts["options"])})
    login = make_api()
    opts = login.post("/api/auth/passkey/options").json()
    assertion = auth.get(opts["options"])
    assertion["response"]["signature"] = assertion["response"]["signature"][:-4] + "AAAA"
    forged = login.post("/api/auth/passkey/login", json={"challenge_id": opts["challenge_id"],
                                                          "credential": assertion})
    assert forged.status_code == 401
    reused = login.post("/api/auth/passkey/login", json={"challenge_id": opts["challenge_id"],
                                                          "credential": auth.get(opts["options"])})
    assert reused.status_code == 422
    assert "Défi" in reused.json()["detail"]


def test_passkey_without_user_verification_is_refused(make_api, run, settings):
    row, code, _ = _import_pending(run, settings, code="NOUV-PASS-KEY2")
    api = _enrolling(make_api, row, code)
    auth = SoftAuthenticator(PUBLIC_URL, "localhost", user_verified=False)
    opts = api.post("/api/credentials/passkeys/options").json()
    r = api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                    "credential": auth.create(opts["options"])})
    assert r.status_code == 422
    assert api.get("/api/me").status_code == 401


def test_sessions_listed_revoked_and_logout_everywhere(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    second = make_api()
    second.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    second.post("/api/auth/login/totp", json={"code": fresh_totp(citizen.totp_secret)})
    overview = citizen.api.get("/api/security").json()
    assert overview["totp_enabled"] and overview["password_set"]
    assert len(overview["sessions"]) == 2
    other = next(s for s in overview["sessions"] if not s["current"])
    assert citizen.api.delete(f"/api/security/sessions/{other['id']}").status_code == 204
    assert second.get("/api/me").status_code == 401
    r = citizen.api.post("/api/auth/logout-all")
    assert r.json()["closed_sessions"] == 1
    assert citizen.api.get("/api/me").status_code == 401


def test_idle_session_expires(make_api, run, settings):
    from datetime import timedelta

    from backend.core.auth import utcnow

    citizen = activated_citizen(make_api, run, settings)
    run(lambda: UserSession.update({UserSession.last_seen_at: utcnow() - timedelta(hours=2)}).where(
        UserSession.stage == "active"))
    assert citizen.api.get("/api/me").status_code == 401


def test_state_changing_request_without_csrf_token_is_refused(make_api, run, settings):
    api = make_api()
    del api.http.headers["x-csrf-token"]
    r = api.post("/api/auth/login", json={"identifier": "x", "password": "y"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "CSRF" in r.json()["detail"]


def test_cannot_remove_last_login_method(make_api, run, settings):
    row, code, _ = _import_pending(run, settings, code="LAST-KEYS-2345")
    api = _enrolling(make_api, row, code)
    auth = SoftAuthenticator(PUBLIC_URL, "localhost")
    opts = api.post("/api/credentials/passkeys/options").json()
    api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                "credential": auth.create(opts["options"])})
    [key] = api.get("/api/security/passkeys").json()
    r = api.delete(f"/api/security/passkeys/{key['id']}")
    assert r.status_code == 409


def test_professional_activation_then_password_totp_login(make_api, run, settings):
    from backend.accounts.services import open_pro_account
    from backend.professionals.directory import import_directory
    from tests.factories import fresh_rpps

    rpps = fresh_rpps()
    [res] = run(import_directory, settings, [{
        "rpps": rpps, "last_name": "NOUVELLE", "first_name": "Inès", "profession_code": "21",
        "structure_name": "Pharmacie du Port", "finess": "750000010"}], open_pro_account)
    assert res.status == "created" and res.activation_code
    api = make_api()
    wrong = api.post("/api/activation/pro", json={"rpps": fresh_rpps(), "activation_code": res.activation_code})
    assert wrong.status_code == 401
    assert api.post("/api/activation/pro", json={"rpps": rpps,
                                                 "activation_code": res.activation_code}).status_code == 200
    secret = api.post("/api/credentials/password", json={"password": PASSWORD}).json()["totp_secret"]
    assert api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(secret)}).status_code == 200
    assert api.get("/api/pro/me").json()["rpps"] == rpps
    # The code is spent.
    again = make_api().post("/api/activation/pro", json={"rpps": rpps, "activation_code": res.activation_code})
    assert again.status_code == 401
    login = make_api()
    login.post("/api/auth/login", json={"identifier": rpps, "password": PASSWORD, "kind": "pro"})
    assert login.post("/api/auth/login/totp", json={"code": fresh_totp(secret)}).status_code == 200
    me = login.get("/api/pro/me").json()
    assert me["profession"] == "Pharmacien" and me["national_id"] == "8" + rpps
    # A professional has no citizen profile and cannot read cards.
    assert login.get("/api/me").json()["profiles"] == []
