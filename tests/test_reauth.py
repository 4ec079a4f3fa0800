"""Sensitive changes need a fresh proof of the owner; passwords must be hard to guess; a session
handle is not a pattern; anonymous passkey challenges are bounded; credential changes are safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend.accounts.tables import Account, UserSession, WebAuthnChallenge
from backend.core.auth import utcnow
from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD, activated_citizen, fresh_totp, import_persons, person_row
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
        ("register passkey", lambda: citizen.api.post("/api/credentials/passkeys", json={
            "challenge_id": other, "credential": {"id": "x", "type": "public-key"}})),
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


def _asks_for_reauth(r) -> bool:
    return r.status_code == 403 and r.json().get("type", "").endswith("/reauthentication-required")


def test_reauth_with_password_and_code_opens_the_window(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    account = account_of(run, citizen.person_id)
    age_sessions(run, account["id"])
    r = citizen.api.post("/api/auth/reauth", json={"password": PASSWORD,
                                                   "code": fresh_totp(citizen.totp_secret)})
    assert r.status_code == 204, r.text
    # The same session, proved again: no new cookie, a fresh proof time.
    assert "set-cookie" not in r.headers or "carnet_session" not in r.headers["set-cookie"]
    fresh = run(lambda: UserSession.select(UserSession.authenticated_at)
                .where(UserSession.account == account["id"]).first())["authenticated_at"]
    assert utcnow() - fresh < timedelta(minutes=1)
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    r = citizen.api.post(f"/api/profiles/{citizen.person_id}/delegations",
                         json={"label": "Voisine", "scopes": ["present_card"], "ends_at": ends})
    assert r.status_code == 201, r.text


def test_after_reauth_every_sensitive_change_passes_the_gate(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    age_sessions(run, account_of(run, citizen.person_id)["id"])
    assert citizen.api.post("/api/auth/reauth", json={"password": PASSWORD, "code": fresh_totp(
        citizen.totp_secret)}).status_code == 204
    unknown = "00000000-0000-0000-0000-000000000000"
    for name, call in sensitive_requests(citizen, unknown):  # "close space" comes last
        r = call()
        assert not _asks_for_reauth(r) and r.status_code < 500, (name, r.status_code, r.text)
    assert r.status_code == 200  # the space was closed


def test_an_activation_session_may_enrol_credentials_but_not_touch_the_space(make_api, run, settings):
    row = person_row()
    [created] = import_persons(run, settings, [row], codes={row["nir"]: "TEST-ENRL-ONLY"})
    api = make_api()
    assert api.post("/api/activation", json={"nir": row["nir"], "activation_code": "TEST-ENRL-ONLY",
                                             "birth_date": row["birth_date"]}).status_code == 200
    pid = created.person_id
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    unknown = "00000000-0000-0000-0000-000000000000"
    for name, r in [
        ("create delegation", api.post(f"/api/profiles/{pid}/delegations", json={
            "label": "x", "scopes": ["present_card"], "ends_at": ends})),
        ("revoke delegation", api.delete(f"/api/delegations/{unknown}")),
        ("delete passkey", api.delete(f"/api/security/passkeys/{unknown}")),
        ("close space", api.post(f"/api/profiles/{pid}/close", json={"confirmation": "FERMER"})),
    ]:
        assert r.status_code == 401, (name, r.status_code, r.text)
    assert api.post("/api/credentials/passkeys/options").status_code == 200
    assert api.post("/api/credentials/password", json={"password": STRONG}).status_code == 200


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
    assert r.status_code == 422, password
    assert r.json()["errors"][0]["rule"] in ("guessable", "blank")


def test_a_password_built_on_the_nir_or_birth_date_is_refused(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    day, month, year = citizen.birth_date[8:10], citizen.birth_date[5:7], citizen.birth_date[:4]
    for password in (citizen.nir + "ab", f"{day}{month}{year}testeuse"):
        r = citizen.api.post("/api/credentials/password", json={"password": password})
        assert r.status_code == 422, password
        assert r.json()["errors"][0]["rule"] == "guessable"


def test_a_decent_passphrase_is_accepted(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    r = citizen.api.post("/api/credentials/password", json={"password": "girafe lampadaire tisane orbite"})
    assert r.status_code == 200, r.text


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


def test_concurrent_anonymous_challenges_cannot_overshoot_the_cap(run, settings):
    from backend.accounts import services
    from backend.core.errors import TooManyAttempts

    run(lambda: WebAuthnChallenge.delete().where(WebAuthnChallenge.purpose == "login"))

    async def burst():
        return await asyncio.gather(*[services.passkey_login_options(settings, "198.51.100.7")
                                      for _ in range(60)], return_exceptions=True)

    results = run(burst)
    assert sum(isinstance(r, dict) for r in results) == services.MAX_OPEN_CHALLENGES
    assert all(isinstance(r, dict | TooManyAttempts) for r in results)
    assert run(lambda: WebAuthnChallenge.count().where(
        WebAuthnChallenge.purpose == "login")) == services.MAX_OPEN_CHALLENGES
    # Another address is not held back by this one.
    assert run(lambda: services.passkey_login_options(settings, "198.51.100.8"))["challenge_id"]


def test_argon2_runs_off_the_event_loop(make_api, run, settings, monkeypatch):
    import threading

    from backend.core import crypto

    citizen = activated_citizen(make_api, run, settings)
    threads: dict[str, list[str]] = {"verify_password": [], "hash_password": []}

    def spy(name):
        real = getattr(crypto, name)

        def wrapped(*args):
            threads[name].append(threading.current_thread().name)
            return real(*args)
        return wrapped

    for name in threads:
        monkeypatch.setattr(f"backend.accounts.services.{name}", spy(name))
    loop_thread = run(lambda: _current_thread_name())
    assert make_api().post("/api/auth/login", json={"identifier": citizen.nir,
                                                     "password": PASSWORD}).status_code == 200
    assert citizen.api.post("/api/auth/reauth", json={"password": PASSWORD, "code": fresh_totp(
        citizen.totp_secret)}).status_code == 204
    assert citizen.api.post("/api/credentials/password", json={"password": STRONG}).status_code == 200
    assert len(threads["verify_password"]) == 2 and len(threads["hash_password"]) == 1
    assert all(name != loop_thread for names in threads.values() for name in names)


async def _current_thread_name() -> str:
    import threading

    return threading.current_thread().name


def test_a_proof_four_minutes_old_is_still_fresh(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    age_sessions(run, account_of(run, citizen.person_id)["id"], minutes=4)
    assert citizen.api.post("/api/credentials/password", json={"password": STRONG}).status_code == 200
    age_sessions(run, account_of(run, citizen.person_id)["id"], minutes=6)
    assert citizen.api.post("/api/credentials/password", json={"password": STRONG}).status_code == 403
