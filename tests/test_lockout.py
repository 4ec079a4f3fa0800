"""Knowing a NIR is not enough to lock its owner out: per-address limits, known devices, passkeys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from backend import demo
from backend.accounts import services, throttle
from backend.accounts.tables import LoginThrottle
from backend.core.auth import utcnow
from backend.core.errors import InvalidCredentials, TooManyAttempts
from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD, Citizen, activated_citizen, fresh_nir, fresh_totp
from tests.soft_authenticator import SoftAuthenticator

ATTACKER = "203.0.113.66"
OWNER_HOME = "198.51.100.7"
ELSEWHERE = "192.0.2.10"
WRONG = "not the password at all"
DEVICE_COOKIE = throttle.DEVICE_COOKIE


def at(api, address: str):
    """Send this client's requests from ``address`` (the ASGI scope's client)."""
    app = getattr(api.http, "carnet_app", api.http.app)
    api.http.carnet_app = app

    async def from_address(scope, receive, send):
        await app({**scope, "client": (address, 50000)}, receive, send)

    api.http.app = from_address
    return api


def login(api, password: str = demo.DEMO_PASSWORD, identifier: str = demo.CAMILLE, kind: str = "citizen"):
    return api.post("/api/auth/login", json={"identifier": identifier, "password": password, "kind": kind})


def full_login(api, citizen: Citizen | None = None):
    """Password + TOTP as the demo citizen, or as ``citizen``."""
    identifier, password, secret = ((citizen.nir, PASSWORD, citizen.totp_secret) if citizen
                                    else (demo.CAMILLE, demo.DEMO_PASSWORD, demo.TOTP_SECRETS["camille"]))
    r = login(api, password, identifier)
    assert r.status_code == 200, r.text
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(secret)})
    assert r.status_code == 200, r.text
    return r


def hammer(api, count: int = 12, identifier: str = demo.CAMILLE) -> list[int]:
    return [login(api, WRONG, identifier).status_code for _ in range(count)]


def lock_identifier(run, settings, identifier: str = demo.CAMILLE) -> None:
    """Push the identifier's counter to a full lock, as a patient attacker would."""
    key = services.login_key(settings, "citizen", identifier)
    run(lambda: LoginThrottle.update({LoginThrottle.failures: throttle.LOCK_AFTER,
                                      LoginThrottle.blocked_until: utcnow() + throttle.LOCK_FOR})
        .where(LoginThrottle.key == key))


def lock_address(run, settings, address: str = ATTACKER) -> None:
    key = throttle.address_key(settings, address).value
    run(lambda: LoginThrottle.delete().where(LoginThrottle.key == key))
    run(lambda: LoginThrottle.insert(LoginThrottle(
        key=key, failures=throttle.PER_ADDRESS.lock_after, last_failure_at=utcnow(),
        blocked_until=utcnow() + throttle.LOCK_FOR)))


def test_the_attacking_address_is_refused_itself(make_api):
    attacker = at(make_api(), ATTACKER)
    statuses = hammer(attacker)
    assert statuses[:throttle.SLOW_AFTER] == [401] * throttle.SLOW_AFTER
    assert statuses[-1] == 429 and statuses.count(401) < 8
    r = login(attacker)  # even the right password, from there
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1


def test_the_owners_known_device_logs_in_during_the_lock(make_api, run, settings):
    owner = at(make_api(), OWNER_HOME)
    r = full_login(owner)
    cookie = next(v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith(f"{DEVICE_COOKIE}="))
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "max-age=" in attributes  # long-lived
    owner.post("/api/auth/logout")

    hammer(at(make_api(), ATTACKER))
    lock_identifier(run, settings)
    # An unknown client, wherever it is, meets the identifier's lock, even with the right password.
    stranger = login(at(make_api(), ELSEWHERE))
    assert stranger.status_code == 429 and "bloquées" in stranger.json()["detail"]

    # The owner's device, from yet another address (mobile network): password, then TOTP.
    at(owner, "100.64.0.9")
    assert login(owner).status_code == 200
    r = owner.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS["camille"])})
    assert r.status_code == 200, r.text
    assert owner.get("/api/me").status_code == 200
    # The owner's login did not lift the lock for everybody else.
    assert login(at(make_api(), ELSEWHERE)).status_code == 429


def test_a_copied_device_cookie_has_its_own_failure_counter(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    owner = at(make_api(), OWNER_HOME)
    full_login(owner, citizen)
    thief = at(make_api(), ATTACKER)
    thief.cookies.set(DEVICE_COOKIE, owner.cookies.get(DEVICE_COOKIE), domain="localhost.local")
    statuses = hammer(thief, identifier=citizen.nir)
    assert statuses[:throttle.SLOW_AFTER] == [401] * throttle.SLOW_AFTER
    assert statuses[-1] == 429 and statuses.count(401) < 8
    # Those failures counted on the device, not on the identifier: another client is not slowed down.
    assert login(at(make_api(), ELSEWHERE), PASSWORD, citizen.nir).status_code == 200


def test_a_device_cookie_exempts_only_the_accounts_it_logged_in_to(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    device = at(make_api(), OWNER_HOME)
    full_login(device, citizen)
    hammer(at(make_api(), ATTACKER))
    lock_identifier(run, settings)
    # This device logged in to another account than Camille's: the lock on her NIR applies to it.
    assert login(device).status_code == 429


def test_a_forged_device_cookie_counts_as_an_unknown_client(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    owner = at(make_api(), OWNER_HOME)
    full_login(owner, citizen)
    hammer(at(make_api(), ATTACKER), identifier=citizen.nir)
    lock_identifier(run, settings, citizen.nir)
    forger = at(make_api(), OWNER_HOME)
    value = owner.cookies.get(DEVICE_COOKIE)
    forger.cookies.set(DEVICE_COOKIE, value[:-4] + ("0000" if not value.endswith("0000") else "1111"),
                       domain="localhost.local")
    assert login(forger, PASSWORD, citizen.nir).status_code == 429
    assert throttle.read_device_cookie(settings, "not.signed") is None
    assert throttle.read_device_cookie(settings, value) is not None
    # The genuine cookie still gets the owner in.
    assert login(owner, PASSWORD, citizen.nir).status_code == 200


def test_the_owner_logs_in_with_a_passkey_during_the_lock(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)  # logged in, proved just now
    auth = SoftAuthenticator(PUBLIC_URL, "localhost")
    opts = citizen.api.post("/api/credentials/passkeys/options").json()
    r = citizen.api.post("/api/credentials/passkeys", json={"challenge_id": opts["challenge_id"],
                                                            "credential": auth.create(opts["options"]),
                                                            "label": "Téléphone"})
    assert r.status_code == 201, r.text

    hammer(at(make_api(), ATTACKER), identifier=citizen.nir)
    lock_identifier(run, settings, citizen.nir)
    lock_address(run, settings)
    assert login(at(make_api(), ELSEWHERE), PASSWORD, citizen.nir).status_code == 429
    assert login(at(make_api(), ATTACKER), identifier=demo.DOMINIQUE).status_code == 429
    # A new client with no device cookie, even behind the attacker's address (same NAT).
    phone = at(make_api(), ATTACKER)
    opts = phone.post("/api/auth/passkey/options").json()
    r = phone.post("/api/auth/passkey/login", json={"challenge_id": opts["challenge_id"],
                                                     "credential": auth.get(opts["options"])})
    assert r.status_code == 200, r.text
    assert phone.get("/api/me").json()["profiles"][0]["id"] == citizen.person_id
    # A passkey login is a full login: the device is known from now on.
    assert phone.cookies.get(DEVICE_COOKIE)
    assert login(phone, PASSWORD, citizen.nir).status_code == 200


def test_one_address_guessing_across_many_nirs_is_limited(make_api, run, settings):
    attacker = at(make_api(), ATTACKER)
    limit = throttle.PER_ADDRESS.slow_after
    statuses = [login(attacker, WRONG, fresh_nir()).status_code for _ in range(limit + 6)]
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429
    # Each NIR saw one failure only: the address is what is held back, not the NIRs' owners.
    rows = run(lambda: LoginThrottle.select(LoginThrottle.key, LoginThrottle.failures))
    address = throttle.address_key(settings, ATTACKER).value
    assert [r["failures"] for r in rows if r["key"] == address] == [statuses.count(401)]
    assert {r["failures"] for r in rows if r["key"] != address} == {1}
    # Another address is not affected, nor is a professional logging in elsewhere.
    assert login(at(make_api(), ELSEWHERE)).status_code == 200
    assert login(at(make_api(), ELSEWHERE), identifier=demo.GP_RPPS, kind="pro").status_code == 200


def test_a_successful_login_does_not_reset_its_addresss_counter(make_api, run, settings):
    attacker = at(make_api(), ATTACKER)
    limit = throttle.PER_ADDRESS.slow_after
    for _ in range(limit - 1):
        assert login(attacker, WRONG, fresh_nir()).status_code == 401
    full_login(attacker, activated_citizen(make_api, run, settings))  # a colleague behind the same NAT
    # Had the login wiped the address's failures, these would all be 401.
    assert 429 in [login(at(make_api(), ATTACKER), WRONG, fresh_nir()).status_code for _ in range(5)]


def test_a_burst_of_concurrent_guesses_meets_the_limit(run, settings):
    """Many guesses sent at once are counted one by one, before any password is checked."""

    async def burst():
        return await asyncio.gather(*[
            services.password_login(settings, "citizen", demo.CAMILLE, f"{WRONG} {i}", "test", client=ATTACKER)
            for i in range(20)], return_exceptions=True)

    outcomes = run(burst)
    wrong = [o for o in outcomes if isinstance(o, InvalidCredentials)]
    refused = [o for o in outcomes if isinstance(o, TooManyAttempts)]
    assert len(wrong) + len(refused) == 20
    assert len(wrong) <= throttle.SLOW_AFTER + 1, len(wrong)


def test_right_password_from_a_slowed_identifier_gives_its_attempt_back(make_api, run, settings):
    """An owner's successful steps do not add to the counters (the attempt is counted, then withdrawn)."""
    citizen = activated_citizen(make_api, run, settings)
    owner = at(make_api(), OWNER_HOME)
    assert [login(owner, WRONG, citizen.nir).status_code for _ in range(2)] == [401, 401]
    full_login(owner, citizen)
    rows = run(lambda: LoginThrottle.select())
    by_kind = {r["failures"] for r in rows}
    # The identifier's counter is cleared by the full login; the address keeps its two failures.
    assert by_kind == {2}
    assert all(r["blocked_until"] is None or r["blocked_until"] <= utcnow() + timedelta(seconds=1)
               for r in rows)
