"""Sensitive changes need a fresh proof of the owner; passwords must be hard to guess; a session
handle is not a pattern; anonymous passkey challenges are bounded; credential changes are safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.accounts.tables import Account, UserSession, WebAuthnChallenge
from backend.core.auth import utcnow
from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD, activated_citizen, fresh_totp
from tests.soft_authenticator import SoftAuthenticator

PROBLEM = "application/problem+json"
STRONG = "quatre mots sans rapport violon"


def age_sessions(run, account_id=None, minutes: int = 10) -> None:
    """Make every active session's last proof older than the re-authentication window."""
    where = UserSession.stage == "active"
    if account_id is not None:
        where &= UserSession.account == account_id
    run(lambda: UserSession.update({UserSession.authenticated_at: utcnow() - timedelta(minutes=minutes)})
        .where(where))


def account_of(run, person_id):
    return run(lambda: Account.select().where(Account.person == person_id).first())


def sensitive_requests(citizen, other):
    """Every sensitive change a stolen session could try: (name, call)."""
    pid = citizen.person_id
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    return [
        ("set password", lambda: citizen.api.post("/api/credentials/password", json={"password": STRONG})),
        ("confirm totp", lambda: citizen.api.post("/api/credentials/totp/confirm", json={"code": "123456"})),
        ("passkey options", lambda: citizen.api.post("/api/credentials/passkeys/options")),
        ("create delegation", lambda: citizen.api.post(f"/api/profiles/{pid}/delegations", json={
            "label": "x", "scopes": ["present_card"], "ends_at": ends})),
        ("revoke delegation", lambda: citizen.api.delete(f"/api/delegations/{other}")),
        ("delete passkey", lambda: citizen.api.delete(f"/api/security/passkeys/{other}")),
        ("close space", lambda: citizen.api.post(f"/api/profiles/{pid}/close", json={"confirmation": "FERMER"})),
    ]


def test_every_sensitive_change_needs_a_recent_proof(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    account = account_of(run, citizen.person_id)
    age_sessions(run, account["id"])
    unknown = "00000000-0000-0000-0000-000000000000"
    for name, call in sensitive_requests(citizen, unknown):
        r = call()
        assert r.status_code == 403, name
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"].endswith("/reauthentication-required"), name
    # Nothing changed: the old password still logs in.
    assert make_api().post("/api/auth/login", json={"identifier": citizen.nir,
                                                     "password": PASSWORD}).status_code == 200
    # Reading stays open to the aged session.
    assert citizen.api.get("/api/me").status_code == 200


def test_reauth_with_password_and_code_opens_the_window(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    account = account_of(run, citizen.person_id)
    age_sessions(run, account["id"])
    r = citizen.api.post("/api/auth/reauth", json={"password": PASSWORD,
                                                   "code": fresh_totp(citizen.totp_secret)})
    assert r.status_code == 204, r.text
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    r = citizen.api.post(f"/api/profiles/{citizen.person_id}/delegations",
                         json={"label": "Voisine", "scopes": ["present_card"], "ends_at": ends})
    assert r.status_code == 201, r.text


def test_reauth_refuses_wrong_secrets_and_is_throttled(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    age_sessions(run, account_of(run, citizen.person_id)["id"])
    statuses = [citizen.api.post("/api/auth/reauth", json={"password": "wrong password!!",
                                                            "code": "000000"}).status_code
                for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and 429 in statuses
    assert citizen.api.post(f"/api/profiles/{citizen.person_id}/close",
                            json={"confirmation": "FERMER"}).status_code == 403


def test_passkey_reauth_accepts_only_the_account_own_passkey(make_api, run, settings):
    owner = activated_citizen(make_api, run, settings)
    thief = activated_citizen(make_api, run, settings)
    keys = {}
    for who in (owner, thief):
        auth = SoftAuthenticator(PUBLIC_URL, "localhost")
        opts = who.api.post("/api/credentials/passkeys/options").json()
        r = who.api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                             "credential": auth.create(opts["options"])})
        assert r.status_code == 201, r.text
        keys[who.person_id] = auth
    age_sessions(run)
    opts = owner.api.post("/api/auth/reauth/passkey/options").json()
    allowed = {c["id"] for c in opts["options"]["allowCredentials"]}
    assert allowed == {keys[owner.person_id].get(opts["options"])["id"]}
    stolen = keys[thief.person_id].get(opts["options"])
    r = owner.api.post("/api/auth/reauth/passkey", json={"challenge_id": opts["challenge_id"],
                                                         "credential": stolen})
    assert r.status_code == 401
    opts = owner.api.post("/api/auth/reauth/passkey/options").json()
    r = owner.api.post("/api/auth/reauth/passkey", json={"challenge_id": opts["challenge_id"],
                                                         "credential": keys[owner.person_id].get(opts["options"])})
    assert r.status_code == 204, r.text
    assert owner.api.post("/api/credentials/passkeys/options").status_code == 200


def test_a_new_password_waits_for_its_code_and_the_old_factor_keeps_working(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    r = citizen.api.post("/api/credentials/password", json={"password": STRONG})
    assert r.status_code == 200, r.text
    new_secret = r.json()["totp_secret"]
    # Not confirmed yet: the old password and the old second factor still log in.
    old = make_api()
    assert old.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD}).status_code == 200
    assert old.post("/api/auth/login/totp", json={"code": fresh_totp(citizen.totp_secret)}).status_code == 200
    assert make_api().post("/api/auth/login", json={"identifier": citizen.nir,
                                                     "password": STRONG}).status_code == 401
    # A code from the old secret does not confirm the new one.
    r = citizen.api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(citizen.totp_secret)})
    assert r.status_code == 401
    r = citizen.api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(new_secret)})
    assert r.status_code == 200, r.text
    new = make_api()
    assert new.post("/api/auth/login", json={"identifier": citizen.nir, "password": STRONG}).status_code == 200
    assert new.post("/api/auth/login/totp", json={"code": fresh_totp(new_secret)}).status_code == 200
    assert make_api().post("/api/auth/login", json={"identifier": citizen.nir,
                                                     "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", " " * 12, "azertyuiop12",
                                      "123456789012", "Camille2026!"])
def test_guessable_passwords_are_refused_with_the_reason(make_api, run, settings, password):
    citizen = activated_citizen(make_api, run, settings, first_names=["Camille"])
    r = citizen.api.post("/api/credentials/password", json={"password": password})
    assert r.status_code == 400, password
    assert r.json()["errors"][0]["rule"] in ("guessable", "blank")


def test_a_session_handle_is_not_a_pattern(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    second = make_api()
    second.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    second.post("/api/auth/login/totp", json={"code": fresh_totp(citizen.totp_secret)})
    assert citizen.api.delete("/api/security/sessions/" + "_" * 16).status_code == 404
    assert citizen.api.delete("/api/security/sessions/" + "%" * 16).status_code == 404
    assert second.get("/api/me").status_code == 200 and citizen.api.get("/api/me").status_code == 200


def test_anonymous_passkey_challenges_are_bounded_and_purged(make_api, run, settings):
    run(lambda: WebAuthnChallenge.delete().where(WebAuthnChallenge.purpose == "login"))
    api = make_api()
    statuses = [api.post("/api/auth/passkey/options").status_code for _ in range(25)]
    assert statuses.count(200) == 20 and statuses[-1] == 429
    assert api.post("/api/auth/passkey/options").headers.get("retry-after")
    # Once expired, they are purged by the next challenge and the client may start again.
    run(lambda: WebAuthnChallenge.update({WebAuthnChallenge.expires_at: utcnow() - timedelta(seconds=1)})
        .where(WebAuthnChallenge.purpose == "login"))
    assert api.post("/api/auth/passkey/options").status_code == 200
    left = run(lambda: WebAuthnChallenge.count().where(WebAuthnChallenge.expires_at <= utcnow()))
    assert left == 0


def test_argon2_runs_off_the_event_loop(make_api, run, settings, monkeypatch):
    import threading

    from backend.core import crypto

    citizen = activated_citizen(make_api, run, settings)
    threads: list[str] = []
    real = crypto.verify_password

    def spy(stored, password):
        threads.append(threading.current_thread().name)
        return real(stored, password)

    monkeypatch.setattr("backend.accounts.services.verify_password", spy)
    loop_thread = run(lambda: _current_thread_name())
    assert make_api().post("/api/auth/login", json={"identifier": citizen.nir,
                                                     "password": PASSWORD}).status_code == 200
    assert threads and all(name != loop_thread for name in threads)


async def _current_thread_name() -> str:
    import threading

    return threading.current_thread().name
