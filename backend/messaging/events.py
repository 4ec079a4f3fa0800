"""The live event stream of an inbox and its open threads (Server-Sent Events).

A stream listens to the actor's audience keys (``person:<id>`` for each
profile a citizen may message for; ``professional:<id>`` and
``structure:<id>`` for a professional) through ``core.live``, which spans
every server process on PostgreSQL. Each event carries ids and counts only,
never a text, a subject or a name::

    event: message
    data: {"thread_id": "...", "message_id": "...", "unread": 3}

Kinds: ``ready`` (first event: the unread total), ``message``, ``read`` (a
side read a thread: ``side``), ``thread`` (closed: ``status``) and
``resync`` (events were missed: reload). A comment line every
:data:`HEARTBEAT` seconds keeps proxies from closing the connection; at the
same pace the stream checks that the session is still valid (without
counting as activity, so an open stream never keeps an idle session alive)
and that the actor's audience has not changed. It ends when the client
disconnects, the session ends, the audience changes, or after
:data:`MAX_SECONDS` (the browser's ``EventSource`` reconnects by itself).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

from backend.accounts.services import list_sessions
from backend.core import live
from backend.core.auth import Actor, utcnow
from backend.core.settings import Settings
from backend.messaging import services

HEARTBEAT = 15.0  # seconds between comment lines (and session checks)
MAX_SECONDS = 300.0  # a stream is renewed by the client this often
RETRY_MS = 3000  # how long the browser waits before reconnecting
_SHOWN = ("thread_id", "message_id", "side", "status")


def encode(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n".encode()


async def session_alive(settings: Settings, actor: Actor) -> bool:
    """Whether the stream's session is still open, within its idle and absolute limits (read only)."""
    now = utcnow()
    for session in await list_sessions(actor):
        if session["current"]:
            idle_ok = session["last_seen_at"] + timedelta(seconds=settings.session_idle_seconds) > now
            absolute_ok = session["created_at"] + timedelta(seconds=settings.session_absolute_seconds) > now
            return idle_ok and absolute_ok
    return False


async def _shown(actor: Actor, payload: dict[str, Any]) -> dict[str, Any] | None:
    """What the actor's stream shows of a published payload (``None``: nothing for this actor)."""
    kind = payload.get("type")
    if kind == "resync":
        return {}
    person = payload.get("person_id")
    if person is not None and await services.hidden_from(actor, UUID(str(person))):
        return None
    data = {k: payload[k] for k in _SHOWN if k in payload}
    if kind in ("message", "read"):
        data["unread"] = (await services.unread(actor))["total"]
    return data


async def stream(settings: Settings, actor: Actor, *, follow: bool = True) -> AsyncIterator[bytes]:
    """The event stream's chunks; without ``follow`` only the ``ready`` event (a one-off poll)."""
    keys = await services.audience(actor)
    yield f"retry: {RETRY_MS}\n\n".encode()
    yield encode("ready", {"unread": (await services.unread(actor))["total"]})
    if not follow:
        return
    started = last_check = time.monotonic()
    async with live.subscribe(keys) as events:
        while True:
            now = time.monotonic()
            if now - started >= MAX_SECONDS:
                return
            item = await events.next(timeout=max(0.0, last_check + HEARTBEAT - now))
            if isinstance(item, dict):
                data = await _shown(actor, item)
                if data is not None:
                    yield encode(str(item.get("type", "message")), data)
            elif item is live.CLOSED:
                return
            if time.monotonic() - last_check >= HEARTBEAT:
                if not await session_alive(settings, actor) or await services.audience(actor) != keys:
                    return
                last_check = time.monotonic()
                yield b": keepalive\n\n"
