"""Login throttling kept in the database: slow down after a few failures, then lock for a while."""

from __future__ import annotations

from datetime import timedelta

from backend.accounts.tables import LoginThrottle
from backend.core import database
from backend.core.auth import utcnow
from backend.core.errors import TooManyAttempts

WINDOW = timedelta(minutes=15)
SLOW_AFTER = 3  # failures before each new attempt must wait (1 s, 2 s, 4 s ...)
LOCK_AFTER = 10  # failures that lock the key
LOCK_FOR = timedelta(minutes=15)


async def check(*keys: str) -> None:
    """Refuse the attempt while any key is slowed down or locked."""
    rows = await LoginThrottle.select(LoginThrottle.failures, LoginThrottle.blocked_until).where(
        LoginThrottle.key.is_in(list(keys))
    )
    now = utcnow()
    waits = [r["blocked_until"] for r in rows if r["blocked_until"] and r["blocked_until"] > now]
    if not waits:
        return
    until = max(waits)
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    locked = any(r["failures"] >= LOCK_AFTER for r in rows)
    if locked:
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


async def record_failure(*keys: str) -> None:
    """Count one failure for each key and set its waiting time."""
    now = utcnow()
    async with database.transaction():
        for key in keys:
            row = await LoginThrottle.select().where(LoginThrottle.key == key).first()
            failures = 1
            if row is not None and now - row["last_failure_at"] < WINDOW:
                failures = row["failures"] + 1
            blocked_until = None
            if failures >= LOCK_AFTER:
                blocked_until = now + LOCK_FOR
            elif failures >= SLOW_AFTER:
                blocked_until = now + timedelta(seconds=2 ** (failures - SLOW_AFTER))
            values = {"failures": failures, "last_failure_at": now, "blocked_until": blocked_until}
            if row is None:
                await LoginThrottle.insert(LoginThrottle(key=key, **values))
            else:
                await LoginThrottle.update(values).where(LoginThrottle.key == key)


async def clear(key: str) -> None:
    await LoginThrottle.delete().where(LoginThrottle.key == key)
