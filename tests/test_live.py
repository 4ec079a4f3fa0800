"""Live updates: the broker in memory (SQLite) and across processes (PostgreSQL LISTEN/NOTIFY),
and the messaging event stream (Server-Sent Events) end to end."""

from __future__ import annotations

import asyncio
import json
import queue
import tempfile
import threading
import time
import uuid

import httpx
import pytest

from backend import demo
from backend.core import database, live
from backend.core.auth import Actor
from backend.messaging import events, services
from backend.professionals.directory import search_structures
from tests import serverutil
from tests.conftest import BACKEND
from tests.factories import fresh_totp

on_postgres = pytest.mark.skipif(BACKEND != "postgres", reason="needs CARNET_TEST_DB=postgres")
on_sqlite = pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite engine's single writer")


# --- the broker -----------------------------------------------------------------------------


def test_the_memory_broker_delivers_to_the_subscribers_of_a_key_only(run):
    async def scenario():
        broker = live.Broker()
        async with broker.subscribe({"person:a", "structure:s"}) as mine, broker.subscribe({"person:b"}) as other:
            await broker.publish("person:a", {"type": "message", "thread_id": "t1"})
            await broker.publish("structure:s", {"type": "read", "thread_id": "t1"})
            await broker.publish("person:c", {"type": "message", "thread_id": "t2"})
            got = [await mine.next(timeout=1), await mine.next(timeout=1), await mine.next(timeout=0.05)]
            assert got == [{"type": "message", "thread_id": "t1"}, {"type": "read", "thread_id": "t1"}, None]
            assert await other.next(timeout=0.05) is None
        assert broker.subscriber_count == 0

        async def first_of(keys):
            async for event in broker.subscribe(keys):
                return event

        waiting = asyncio.ensure_future(first_of({"person:a"}))
        while not broker.subscriber_count:
            await asyncio.sleep(0.01)
        await broker.publish("person:a", {"type": "read"})
        assert await asyncio.wait_for(waiting, 1) == {"type": "read"}
        for _ in range(100):  # leaving the loop detaches (once the generator is finalised)
            if not broker.subscriber_count:
                break
            await asyncio.sleep(0.01)
        assert broker.subscriber_count == 0
        with pytest.raises(ValueError):
            await broker.publish("person:a", {"text": "x" * 8000})

    run(scenario)


def test_a_stream_too_far_behind_is_told_to_resynchronise_and_a_stopped_broker_ends_it(run):
    async def scenario():
        broker = live.Broker()
        async with broker.subscribe({"person:a"}) as sub:
            for i in range(live.QUEUE_SIZE + 5):
                broker.fan_out("person:a", {"type": "message", "n": i})
            assert await sub.next(timeout=1) == live.RESYNC
            await broker.stop()
            assert await sub.next(timeout=1) is live.CLOSED

    run(scenario)


@on_sqlite
def test_on_sqlite_a_publish_inside_a_write_transaction_waits_for_the_commit(run):
    async def scenario():
        broker = live.Broker()
        async with broker.subscribe({"person:a"}) as sub:
            async with database.transaction():
                await broker.publish("person:a", {"type": "message"})
                await asyncio.sleep(0.05)
                assert await sub.next(timeout=0.05) is None  # not committed yet
            assert await sub.next(timeout=1) == {"type": "message"}

    run(scenario)


@on_postgres
def test_on_postgres_a_publish_on_one_process_reaches_the_subscribers_of_another(run, settings):
    """Two brokers, each with its own listening connection, as two server processes have."""

    async def scenario():
        first, second = live.PostgresBroker(settings.database_url), live.PostgresBroker(settings.database_url)
        await first.start()
        await second.start()
        try:
            async with second.subscribe({"structure:s"}) as theirs, first.subscribe({"person:p"}) as ours:
                assert first.listening and second.listening
                await first.publish("structure:s", {"type": "message", "thread_id": "t"})
                assert await theirs.next(timeout=3) == {"type": "message", "thread_id": "t"}
                assert await ours.next(timeout=0.2) is None
                await second.publish("person:p", {"type": "read"})
                assert await ours.next(timeout=3) == {"type": "read"}
                # Inside a transaction: delivered at commit, never on rollback.
                async with database.transaction():
                    await first.publish("structure:s", {"type": "inside"})
                    assert await theirs.next(timeout=0.3) is None
                assert await theirs.next(timeout=3) == {"type": "inside"}
                with pytest.raises(RuntimeError):
                    async with database.transaction():
                        await first.publish("structure:s", {"type": "rolled back"})
                        raise RuntimeError("undo")
                assert await theirs.next(timeout=0.5) is None
            # No subscriber left: no listening connection held (nor any snapshot blocked by it).
            assert not first.listening and not second.listening
        finally:
            await first.stop()
            await second.stop()

    run(scenario)


@on_postgres
def test_on_postgres_a_lost_listening_connection_comes_back_and_asks_for_a_resync(run, settings):
    async def scenario():
        broker = live.PostgresBroker(settings.database_url)
        await broker.start()
        try:
            async with broker.subscribe({"person:p"}) as sub:
                pid = broker._conn.get_server_pid()
                await database.fetch("SELECT pg_terminate_backend({})", pid)
                assert await sub.next(timeout=5) == live.RESYNC
                assert broker.listening
                await broker.publish("person:p", {"type": "message"})
                assert await sub.next(timeout=3) == {"type": "message"}
        finally:
            await broker.stop()

    run(scenario)


# --- the event stream, in process (both databases) ------------------------------------------


async def _actor(kind: str, person_id=None, professional_id=None) -> Actor:
    column, value = ("person", person_id) if kind == "citizen" else ("professional", professional_id)
    [row] = await database.fetch(f"SELECT id FROM account WHERE {column} = {{}}", value)  # noqa: S608
    return Actor(account_id=row["id"], kind=kind, session_id="test", stage="active", person_id=person_id,
                 professional_id=professional_id)


def test_a_message_from_the_other_side_reaches_the_open_stream_with_ids_only(run, settings):
    secret = "Votre traitement est prêt"

    async def scenario():
        [camille] = await database.fetch("SELECT id FROM insured_person WHERE nir = {}", demo.CAMILLE)
        [bruno] = await database.fetch("SELECT id FROM professional WHERE rpps = {}", demo.PHARMACIST_RPPS)
        citizen = await _actor("citizen", person_id=camille["id"])
        pharmacist = await _actor("pro", professional_id=bruno["id"])
        [gare] = [s for s in await search_structures("Pharmacie de la Gare") if s["name"] == "Pharmacie de la Gare"]
        thread = await services.start_citizen_thread(settings, citizen, camille["id"], structure_id=gare["id"],
                                                     text="Bonjour")
        unread = (await services.unread(citizen))["total"]  # the demo world's answer may be unread
        stream = events.stream(settings, citizen, follow=True)
        assert (await stream.__anext__()).startswith(b"retry: ")
        assert (await stream.__anext__()).startswith(b"event: ready\ndata: {\"unread\":")
        pending = asyncio.ensure_future(stream.__anext__())
        for _ in range(100):  # until the stream is subscribed (PostgreSQL: its LISTEN connection is open)
            if live.broker().subscriber_count and (BACKEND != "postgres" or live.broker().listening):
                break
            await asyncio.sleep(0.02)
        message = await services.post_message(settings, pharmacist, thread["id"], text=secret)
        started = time.monotonic()
        chunk = await asyncio.wait_for(pending, 3)
        assert time.monotonic() - started < 2
        await stream.aclose()
        return chunk, thread, message, unread

    chunk, thread, message, unread = run(scenario)
    text = chunk.decode()
    kind, data = text.split("\n")[0], json.loads(text.split("\n")[1].removeprefix("data: "))
    assert kind == "event: message"
    assert data == {"thread_id": str(thread["id"]), "message_id": str(message["id"]), "unread": unread + 1}
    assert secret not in text and "Bonjour" not in text and "Gare" not in text
    assert live.broker().subscriber_count == 0


# --- the event stream through a served instance ---------------------------------------------


def _login(url: str, kind: str, identifier: str, totp: str) -> httpx.Client:
    client = httpx.Client(base_url=url, headers={"origin": url}, timeout=10)
    client.get("/health")
    client.headers["x-csrf-token"] = client.cookies["carnet_csrf"]
    r = client.post("/api/auth/login", json={"identifier": identifier, "password": demo.DEMO_PASSWORD,
                                             "kind": kind})
    assert r.status_code == 200, r.text
    r = client.post("/api/auth/login/totp", json={"code": fresh_totp(demo.TOTP_SECRETS[totp])})
    assert r.status_code == 200, r.text
    return client


def _listen(client: httpx.Client, lines: queue.Queue, stop: threading.Event, headers: dict) -> None:
    try:
        with client.stream("GET", "/api/messaging/events", headers=headers,
                           timeout=httpx.Timeout(10, read=30)) as r:
            lines.put(("status", r.status_code, r.headers.get("content-type", "")))
            for line in r.iter_lines():
                lines.put(("line", line))
                if stop.is_set():
                    return
    except httpx.HTTPError as exc:
        lines.put(("error", repr(exc)))


def _next_event(lines: queue.Queue, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    current = None
    while time.monotonic() < deadline:
        try:
            item = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if item[0] != "line":
            continue
        line = item[1]
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current == kind:
            return {"raw": line, **json.loads(line.removeprefix("data: "))}
    raise AssertionError(f"no {kind} event within {timeout} s")


@pytest.mark.served
def test_a_served_stream_receives_the_other_sides_message_within_seconds():
    with tempfile.TemporaryDirectory(prefix="carnet-live-") as tmp:
        env = serverutil.server_env(tmp, serverutil.free_port())
        serverutil.prepare(env)
        proc, url = serverutil.start(env)
        stop = threading.Event()
        try:
            camille = _login(url, "citizen", demo.CAMILLE, "camille")
            bruno = _login(url, "pro", demo.PHARMACIST_RPPS, "pharmacist")
            pharmacy = bruno.get("/api/pro/threads").json()["structure"]["id"]
            pid = next(p["id"] for p in camille.get("/api/me").json()["profiles"] if p["relation"] == "self")
            r = camille.post(f"/api/profiles/{pid}/threads", json={"structure_id": pharmacy, "text": "Bonjour"})
            assert r.status_code == 201, r.text
            thread = r.json()["id"]
            unread = camille.get("/api/messaging/unread").json()["total"]
            # A client that does not ask for an event stream gets the counts once.
            once = camille.get("/api/messaging/events")
            assert once.status_code == 200 and once.headers["content-type"].startswith("text/event-stream")
            assert "event: ready" in once.text
            lines: queue.Queue = queue.Queue()
            listener = threading.Thread(target=_listen, args=(camille, lines, stop,
                                                              {"accept": "text/event-stream"}), daemon=True)
            listener.start()
            status = lines.get(timeout=10)
            assert status[:2] == ("status", 200) and status[2].startswith("text/event-stream"), status
            _next_event(lines, "ready", 5)
            time.sleep(0.2)
            secret = "Votre commande est arrivée"
            sent = time.monotonic()
            r = bruno.post(f"/api/threads/{thread}/messages", json={"text": secret})
            assert r.status_code == 201, r.text
            event = _next_event(lines, "message", 3)
            assert time.monotonic() - sent < 2.5
            assert event["thread_id"] == thread and event["message_id"] == r.json()["id"]
            assert event["unread"] == unread + 1 and secret not in event["raw"]
            # Reading it is announced to the other side too.
            bruno_lines: queue.Queue = queue.Queue()
            threading.Thread(target=_listen, args=(bruno, bruno_lines, stop, {"accept": "text/event-stream"}),
                             daemon=True).start()
            _next_event(bruno_lines, "ready", 5)
            time.sleep(0.2)
            assert camille.post(f"/api/threads/{thread}/read").status_code == 200
            read = _next_event(bruno_lines, "read", 3)
            assert read["side"] == "citizen" and read["thread_id"] == thread
            # Without a session, no stream.
            anonymous = httpx.get(url + "/api/messaging/events", headers={"accept": "text/event-stream"})
            assert anonymous.status_code == 401
        finally:
            stop.set()
            proc.kill()
            proc.wait()


def test_the_stream_names_ids_and_counts_only():
    chunk = events.encode("message", {"thread_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()),
                                      "unread": 2})
    text = chunk.decode()
    assert text.startswith("event: message\ndata: {") and text.endswith("}\n\n")
    assert set(json.loads(text.split("data: ")[1])) == {"thread_id", "message_id", "unread"}
