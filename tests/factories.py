"""Test data: fresh insured persons with valid NIRs, logged-in citizens and professionals."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import pyotp

from backend import demo
from backend.identity.identifiers import nir_key
from backend.professionals.identifiers import luhn_check_digit

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


def fresh_nir(sex: str = "2", corsica: bool = False) -> str:
    """A valid, unique NIR (random year/month, sequence in commune + order)."""
    n = next(_seq) + random.randint(0, 10**5) * 1000
    dept = "2A" if corsica else f"{random.randint(1, 95):02d}"
    body = f"{sex}{random.randint(50, 99):02d}{random.randint(1, 12):02d}{dept}{n % 10**6:06d}"
    return body + f"{nir_key(body):02d}"


def fresh_rpps() -> str:
    body = f"{random.randint(10**9, 10**10 - 1)}"
    return body + luhn_check_digit(body)


def person_row(**over: Any) -> dict:
    nir = over.pop("nir", None) or fresh_nir(over.get("_sex", "2"))
    over.pop("_sex", None)
    birth = f"19{nir[1:3]}-{int(nir[3:5]):02d}-15"
    row = {
        "nir": nir, "identity_status": "QUAL", "birth_name": "TESTEUSE", "first_names": ["Ada", "Lou"],
        "birth_date": birth, "sex": "F" if nir[0] == "2" else "M", "birthplace_code": "75056",
        "amo_regime": "Régime général", "amo_caisse": "CPAM de Paris", "amo_caisse_code": "751",
        "amo_rights_start": "2020-01-01",
    }
    row.update(over)
    return row


@dataclass
class Citizen:
    api: Any
    person_id: str
    nir: str
    birth_date: str
    totp_secret: str | None = None


def import_persons(run, settings, rows: list[dict], codes: dict | None = None) -> list:
    from backend.identity.registry import import_registry

    return run(import_registry, settings, rows, codes=codes)


def activated_citizen(make_api, run, settings, **row_over: Any) -> Citizen:
    """Import a person, activate with a code, enrol password + TOTP: a logged-in citizen."""
    row = person_row(**row_over)
    code = f"TEST-{next(_seq):04d}-CODE"
    [result] = import_persons(run, settings, [row], codes={row["nir"]: code})
    assert result.status == "created", result
    api = make_api()
    r = api.post("/api/activation", json={"nir": row["nir"], "activation_code": code,
                                          "birth_date": row["birth_date"]})
    assert r.status_code == 200, r.text
    r = api.post("/api/credentials/password", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    secret = r.json()["totp_secret"]
    r = api.post("/api/credentials/totp/confirm", json={"code": fresh_totp(secret)})
    assert r.status_code == 200, r.text
    return Citizen(api, result.person_id, row["nir"], row["birth_date"], secret)


def login_demo(make_api, who: str) -> Any:
    """Log in a demo account with password + TOTP (next step's code, never replayed)."""
    api = make_api()
    kind, ident = {
        "camille": ("citizen", demo.CAMILLE),
        "dominique": ("citizen", demo.DOMINIQUE),
        "gp": ("pro", demo.GP_RPPS),
        "pharmacist": ("pro", demo.PHARMACIST_RPPS),
        "pharmacist2": ("pro", demo.PHARMACIST2_RPPS),
        "radiologist": ("pro", demo.RADIOLOGIST_RPPS),
    }[who]
    r = api.post("/api/auth/login", json={"identifier": ident, "password": demo.DEMO_PASSWORD, "kind": kind})
    assert r.status_code == 200, r.text
    r = api.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS[who])})
    assert r.status_code == 200, r.text
    return api


_used_steps: dict[str, int] = {}


def fresh_totp(secret: str) -> str:
    """A TOTP code of a step not used yet by this secret in this run.

    The server accepts the previous, current and next 30-second step, each once:
    take the current step, else the next one, else wait for the clock to move.
    """
    import time

    totp = pyotp.TOTP(secret)
    while True:
        now = int(time.time()) // totp.interval
        step = max(now, _used_steps.get(secret, -10) + 1)
        if step <= now + 1:
            break
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)
    _used_steps[secret] = step
    return totp.at(step * totp.interval)


def reauthenticate(api: Any, totp_secret: str, password: str = demo.DEMO_PASSWORD) -> None:
    """Prove it is still you, as a sensitive change asks of a session restored from a snapshot
    (its last proof may be older than the freshness window when the suite runs long)."""
    r = api.post("/api/auth/reauth", json={"password": password, "code": fresh_totp(totp_secret)})
    assert r.status_code == 204, r.text
