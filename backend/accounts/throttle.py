"""Login throttling kept in the database: slow down after a few failures, then lock for a while.

Counters are kept per key (a keyed hash: no identifier, address or device id in
clear). A login counts against two keys: the identifier (NIR or RPPS) and the
client address, so one address guessing across many identifiers is held back
as well as many addresses guessing one identifier. Since a NIR is printed on
many papers, the identifier's lock must not shut its owner out:

- a passkey login never looks at the password counters;
- a *known device* (a signed cookie set after a full login, see
  :func:`issue_device_cookie`) is exempt from the identifier's and the
  address's counters for the accounts it logged in to, and has its own
  counter instead, so that a stolen cookie does not allow unlimited guessing.

A login attempt is counted before the password is checked (:func:`attempt`)
and given back when it succeeds (:class:`Attempt`): many
attempts sent at once cannot all slip in before the first failure is written.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from backend.accounts.tables import LoginThrottle
from backend.core import database
from backend.core.auth import utcnow
from backend.core.crypto import keyed_hash
from backend.core.errors import TooManyAttempts
from backend.core.settings import Settings

WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
LOCK_FOR = timedelta(minutes=15)
# Kept for the callers that count against one key with the identifier's limits.
SLOW_AFTER = 3
LOCK_AFTER = 10


@dataclass(frozen=True, slots=True)
class Limits:
    """How a counter reacts to failures within :data:`WINDOW`."""

    slow_after: int  # failures before each new attempt must wait (1 s, 2 s, 4 s ...)
    lock_after: int  # failures that lock the key for ``lock_for``
    lock_for: timedelta = LOCK_FOR
    cleared_by_login: bool = True  # a full login forgets this key's failures


PER_IDENTIFIER = Limits(SLOW_AFTER, LOCK_AFTER)
# One address may be a whole hospital or household behind a NAT: more room, and a
# login from it does not wipe the failures other people sent from the same address.
PER_ADDRESS = Limits(10, 30, cleared_by_login=False)
PER_DEVICE = Limits(SLOW_AFTER, LOCK_AFTER)


@dataclass(frozen=True, slots=True)
class Key:
    value: str
    limits: Limits = PER_IDENTIFIER


def _keys(keys: Iterable[str | Key]) -> list[Key]:
    return [k if isinstance(k, Key) else Key(k) for k in keys]


def _waiting_time(limits: Limits, failures: int, now: datetime) -> datetime | None:
    if failures >= limits.lock_after:
        return now + limits.lock_for
    if failures >= limits.slow_after:
        seconds = 2 ** min(failures - limits.slow_after, 20)
        return now + min(timedelta(seconds=seconds), limits.lock_for)
    return None


def _refuse_if_waiting(keys: list[Key], rows: dict[str, dict], now: datetime) -> None:
    """Raise while any key is slowed down or locked."""
    waiting = [(k, rows[k.value]) for k in keys
               if k.value in rows and rows[k.value]["blocked_until"] and rows[k.value]["blocked_until"] > now]
    if not waiting:
        return
    until = max(row["blocked_until"] for _, row in waiting)
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    if any(row["failures"] >= k.limits.lock_after for k, row in waiting):
        minutes = max(1, round(seconds / 60))
        raise TooManyAttempts(
            f"Trop d'échecs : les tentatives sont bloquées pendant {minutes} min.",
            detail_en=f"Too many failures: attempts are locked for {minutes} min.",
            headers={"Retry-After": str(seconds)},
        )
    raise TooManyAttempts(
        f"Trop d'échecs : patientez {seconds} s avant de réessayer.",
        detail_en=f"Too many failures: wait {seconds} s before trying again.",
        headers={"Retry-After": str(seconds)},
    )


async def _rows(keys: list[Key]) -> dict[str, dict]:
    rows = await LoginThrottle.select().where(LoginThrottle.key.is_in([k.value for k in keys]))
    return {r["key"]: r for r in rows}


async def _count(key: Key, row: dict | None, now: datetime) -> None:
    failures = 1
    if row is not None and now - row["last_failure_at"] < WINDOW:
        failures = row["failures"] + 1
    values = {"failures": failures, "last_failure_at": now,
              "blocked_until": _waiting_time(key.limits, failures, now)}
    if row is None:
        await LoginThrottle.insert(LoginThrottle(key=key.value, **values))
    else:
        await LoginThrottle.update(values).where(LoginThrottle.key == key.value)


async def check(*keys: str | Key) -> None:
    """Refuse the attempt while any key is slowed down or locked."""
    listed = _keys(keys)
    _refuse_if_waiting(listed, await _rows(listed), utcnow())


async def record_failure(*keys: str | Key) -> None:
    """Count one failure for each key and set its waiting time."""
    listed = _keys(keys)
    now = utcnow()
    async with database.transaction():
        rows = await _rows(listed)
        for key in listed:
            await _count(key, rows.get(key.value), now)


async def attempt(*keys: str | Key) -> Attempt:
    """Check every key and count this attempt as a failure, in one serialised step.

    The attempt stays counted if it fails; :meth:`Attempt.withdraw` or
    :meth:`Attempt.succeeded` give it back. Concurrent attempts on the same key
    are serialised (SQLite's single writer; an advisory lock per key on
    PostgreSQL), so a burst of requests meets the limits one by one.

    Raises:
        TooManyAttempts: a key is slowed down or locked (nothing is counted then).
    """
    listed = _keys(keys)
    async with database.transaction():
        if database.dialect() == "postgres":
            for value in sorted({k.value for k in listed}):
                await database.fetch("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))",
                                     f"throttle:{value}")
        now = utcnow()
        rows = await _rows(listed)
        _refuse_if_waiting(listed, rows, now)
        for key in listed:
            await _count(key, rows.get(key.value), now)
    return Attempt(tuple(listed), now)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One counted attempt, to give back when it succeeds."""

    keys: tuple[Key, ...]
    at: datetime

    async def withdraw(self) -> None:
        """Give back the failure counted for this attempt.

        The waiting time it set is lifted too, unless another failure was
        counted on the key since (that one's waiting time stands).
        """
        await _withdraw(self.keys, self.at)

    async def succeeded(self) -> None:
        """A full login: forget the failures of the keys that belong to the account or the
        device, and give back this attempt's count on the others (the address)."""
        await _withdraw(tuple(k for k in self.keys if not k.limits.cleared_by_login), self.at)
        await clear(*(k.value for k in self.keys if k.limits.cleared_by_login))


async def _withdraw(keys: tuple[Key, ...], at: datetime) -> None:
    if not keys:
        return
    async with database.transaction():
        rows = await _rows(list(keys))
        for key in keys:
            row = rows.get(key.value)
            if row is None:
                continue
            values: dict = {"failures": max(0, row["failures"] - 1)}
            if row["last_failure_at"] <= at:
                values["blocked_until"] = None
            await LoginThrottle.update(values).where(LoginThrottle.key == key.value)


async def clear(*keys: str) -> None:
    if keys:
        await LoginThrottle.delete().where(LoginThrottle.key.is_in(list(keys)))


# --- which counters a login attempt uses ------------------------------------


def address_key(settings: Settings, client: str) -> Key:
    """The counter of one client address (keyed hash of the address)."""
    return Key(keyed_hash(settings.secrets.hmac_key, f"throttle:client:{client}"), PER_ADDRESS)


def login_keys(settings: Settings, identifier_key: str, account_id: UUID | None, client: str,
               device: KnownDevice | None) -> tuple[Key, ...]:
    """The counters a password or TOTP attempt is checked and counted against.

    A device that already logged in to this account counts against its own
    counter only: a lock on the identifier, set by whoever typed the NIR
    elsewhere, does not shut the owner's device out. Anyone else counts
    against the identifier and the client address.
    """
    if device is not None and account_id is not None and device.knows(settings, account_id):
        return (Key(keyed_hash(settings.secrets.hmac_key, f"throttle:device:{device.device_id}"),
                    PER_DEVICE),)
    return Key(identifier_key, PER_IDENTIFIER), address_key(settings, client)


# --- known devices ----------------------------------------------------------

DEVICE_COOKIE = "carnet_device"
DEVICE_MAX_AGE = timedelta(days=180)
DEVICE_MAX_ACCOUNTS = 5  # a shared family tablet remembers a few accounts


def device_cookie_name(settings: Settings) -> str:
    """``__Host-`` prefixed over https, like the session cookie."""
    return f"__Host-{DEVICE_COOKIE}" if settings.secure_cookies else DEVICE_COOKIE


def _account_tag(settings: Settings, account_id: UUID) -> str:
    return keyed_hash(settings.secrets.hmac_key, f"known-device:account:{account_id}")[:32]


def _signature(settings: Settings, payload: str) -> str:
    return keyed_hash(settings.secrets.hmac_key, f"known-device:{payload}")


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A device that completed a full login: a random id and the accounts it logged in to."""

    device_id: str
    accounts: tuple[str, ...]  # keyed hashes of account ids

    def knows(self, settings: Settings, account_id: UUID) -> bool:
        return _account_tag(settings, account_id) in self.accounts


def read_device_cookie(settings: Settings, value: str | None) -> KnownDevice | None:
    """The device named by a cookie whose signature and age are valid, else ``None``."""
    if not value or len(value) > 1000 or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(settings, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issued, device_id, accounts = int(data["t"]), str(data["d"]), tuple(str(a) for a in data["a"])
    except (ValueError, KeyError, TypeError):
        return None
    if utcnow().timestamp() - issued > DEVICE_MAX_AGE.total_seconds():
        return None
    return KnownDevice(device_id, accounts)


def issue_device_cookie(settings: Settings, current: KnownDevice | None, account_id: UUID) -> str:
    """The cookie value after a full login: the same device id (or a new random one), this account first."""
    device_id = current.device_id if current else secrets.token_urlsafe(16)
    tag = _account_tag(settings, account_id)
    accounts = [tag, *(a for a in (current.accounts if current else ()) if a != tag)][:DEVICE_MAX_ACCOUNTS]
    raw = json.dumps({"d": device_id, "a": accounts, "t": int(utcnow().timestamp())}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
    return f"{payload}.{_signature(settings, payload)}"
