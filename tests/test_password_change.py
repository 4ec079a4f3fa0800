"""Changing the password never switches the second factor off: the old TOTP secret stays active
until a code from the new one is confirmed."""

from __future__ import annotations

import pyotp

from backend.accounts.tables import Account
from tests.factories import PASSWORD, activated_citizen, fresh_totp

NEW_PASSWORD = "quatre mots sans rapport violon"


def current_code(secret: str) -> str:
    """A code of the current step, for attempts that must be refused (no step is spent)."""
    return pyotp.TOTP(secret).now()


def test_a_password_change_keeps_the_old_totp_active_until_the_new_one_is_confirmed(make_api, run, settings):
    citizen = activated_citizen(make_api, run, settings)
    before = run(lambda: Account.select().where(Account.person == citizen.person_id).first())
    r = citizen.api.post("/api/credentials/password", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    new_secret = r.json()["totp_secret"]

    # Pending: the second factor is still on, with the old secret, and nothing else changed.
    pending = run(lambda: Account.select().where(Account.id == before["id"]).first())
    assert pending["totp_confirmed"] is True
    assert pending["totp_secret"] == before["totp_secret"]
    assert pending["password_hash"] == before["password_hash"]
    assert pending["pending_totp_secret"] and pending["pending_password_hash"]
    assert citizen.api.get("/api/security").json()["totp_enabled"] is True

    # The (old) password alone never opens a session: a TOTP code is still asked for ...
    api = make_api()
    r = api.post("/api/auth/login", json={"identifier": citizen.nir, "password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"next": "totp"}
    assert api.get("/api/me").status_code == 401
    # ... a code from the not yet confirmed secret is refused ...
    assert api.post("/api/auth/login/totp", json={"code": current_code(new_secret)}).status_code == 401
    assert api.get("/api/me").status_code == 401
    # ... and the old secret is the one that works.
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(citizen.totp_secret)})
    assert r.status_code == 200, r.text
    assert api.get("/api/me").status_code == 200

    # Confirming with a code from the new secret switches both at once; the TOTP stays on.
    r = citizen.api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(new_secret)})
    assert r.status_code == 200, r.text
    after = run(lambda: Account.select().where(Account.id == before["id"]).first())
    assert after["totp_confirmed"] is True
    assert after["totp_secret"] != before["totp_secret"] and after["pending_totp_secret"] is None
    fresh = make_api()
    assert fresh.post("/api/auth/login", json={"identifier": citizen.nir,
                                                "password": NEW_PASSWORD}).status_code == 200
    assert fresh.get("/api/me").status_code == 401
    assert fresh.post("/api/auth/login/totp", json={"code": current_code(citizen.totp_secret)}).status_code == 401
    assert fresh.post("/api/auth/login/totp", json={"code": fresh_totp(new_secret)}).status_code == 200
