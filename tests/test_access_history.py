"""The access history: a minor's secret stays secret from guardians, paging shows every event once."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.access import history
from backend.core import database


def test_the_parent_never_sees_the_gp_reading_the_minor_secret(world, run):
    gp, parent, child = world.pros["gp"], world.patient.api, world.child_id
    secret, visit = world.docs["child_secret"], world.docs["child_visit"]
    assert gp.api.get(f"/api/documents/{secret}").status_code == 200
    assert gp.api.get(f"/api/documents/{visit}").status_code == 200
    page = parent.get(f"/api/profiles/{child}/access-history", params={"limit": 100}).json()
    resources = {e["resource"] for e in page["items"]}
    assert visit in resources and secret not in resources
    assert page["total"] == len(page["items"]) == sum(page["counts"].values())
    # The minor's own view (the service as the person themself sees it) has both reads.
    own = run(history.history, uuid.UUID(child), viewer="self", limit=100)
    assert {visit, secret} <= {e["resource"] for e in own}


def test_the_secret_read_leaves_no_first_access_notice_for_the_parent(world, make_api, main_client, run,
                                                                       settings):
    from tests.docworld import make_pro
    from tests.factories import activated_citizen

    # A physician new to the child's record, granted access by the parent, reads only the secret.
    newcomer = make_pro(main_client, run, settings, "10", "NOUVEAU")
    parent = world.patient.api
    child = world.child_id
    assert parent.post(f"/api/profiles/{child}/care-team", json={"rpps": newcomer.rpps,
                                                                "role": "granted"}).status_code == 204
    before = parent.get(f"/api/profiles/{child}/notifications").json()
    assert newcomer.api.get(f"/api/documents/{world.docs['child_secret']}").status_code == 200
    after = parent.get(f"/api/profiles/{child}/notifications").json()
    assert after == before
    # Their first visible access does notify.
    assert newcomer.api.get(f"/api/documents/{world.docs['child_visit']}").status_code == 200
    notices = parent.get(f"/api/profiles/{child}/notifications").json()
    assert len(notices) == len(before) + 1 and "Test NOUVEAU" in notices[0]["text_fr"]
    del activated_citizen, make_api


def test_paging_returns_every_event_once_newest_first(world, run):
    person = uuid.UUID(world.citizens["other"].person_id)
    for i in range(120):
        run(history.record, person, actor_kind="pro", actor_id=str(uuid.uuid4()), actor_label=f"Pro {i:03d}",
            action="documents.list", outcome="refused" if i % 3 else "allowed")
    api = world.citizens["other"].api
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 50, **({"before": cursor} if cursor else {})}
        page = api.get(f"/api/profiles/{person}/access-history", params=params).json()
        seen += [e["id"] for e in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)
    assert page["counts"] == {"allowed": 40, "refused": 80}


def test_one_allowed_access_stays_findable_after_many_refusals(world, run):
    person = uuid.UUID(world.citizens["caregiver"].person_id)
    run(history.record, person, actor_kind="pro", actor_id="x", actor_label="Dr Permis",
        action="document.download", resource="doc-1")
    for _ in range(100):
        run(history.record, person, actor_kind="pro", actor_id="y", actor_label="Dr Refus",
            action="document.read", outcome="refused")
    api = world.citizens["caregiver"].api
    first = api.get(f"/api/profiles/{person}/access-history").json()
    assert "Dr Permis" not in {e["actor_label"] for e in first["items"]}
    assert first["counts"]["allowed"] >= 1 and first["next_cursor"] is not None
    allowed = api.get(f"/api/profiles/{person}/access-history", params={"outcome": "allowed"}).json()
    assert [e["actor_label"] for e in allowed["items"]] == ["Dr Permis"]


@pytest.mark.parametrize("params", [
    {"before": "9223372036854775808"}, {"before": "0"}, {"limit": "0"}, {"limit": "101"},
    {"outcome": "maybe"}, {"actor_kind": "robot"}, {"action": "x' OR 1=1"}, {"since": "yesterday"},
])
def test_bad_history_parameters_are_a_clear_400(world, params):
    api, pid = world.patient.api, world.patient.person_id
    r = api.get(f"/api/profiles/{pid}/access-history", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_the_chain_covers_the_guardian_flag(world, run):
    assert run(history.verify_chain)[1] is None
    rows = run(database.fetch, "SELECT id FROM access_event WHERE hidden_from_guardians = {} LIMIT 1", True)
    assert rows, "the world has events about the minor's secret"
    run(database.execute, "UPDATE access_event SET hidden_from_guardians = {} WHERE id = {}", False,
        rows[0]["id"])
    try:
        _, broken = run(history.verify_chain)
        assert broken is not None and broken["id"] == rows[0]["id"]
    finally:
        run(database.execute, "UPDATE access_event SET hidden_from_guardians = {} WHERE id = {}", True,
            rows[0]["id"])
    assert run(history.verify_chain)[1] is None


def test_the_export_stream_yields_every_visible_event_once_in_id_order(world, run):
    child = uuid.UUID(world.child_id)
    secret = world.docs["child_secret"]
    gp = world.pros["gp"]
    for _ in range(6):  # more events around the secret, so batches cross hidden rows
        assert gp.api.get(f"/api/documents/{secret}").status_code == 200
        assert gp.api.get(f"/api/documents/{world.docs['child_visit']}").status_code == 200

    async def collect(viewer, batch):
        return [e async for e in history.iter_events(child, viewer=viewer, batch=batch)]

    stored = run(database.fetch, "SELECT id, hidden_from_guardians FROM access_event WHERE person = {} "
                 "ORDER BY id", child)
    assert any(r["hidden_from_guardians"] for r in stored)
    visible = [r["id"] for r in stored if not r["hidden_from_guardians"]]
    for batch in (1, 4, 1000):
        own = run(collect, "self", batch)
        assert [e["id"] for e in own] == [r["id"] for r in stored]
        guardians = run(collect, "parent", batch)
        assert [e["id"] for e in guardians] == visible
        assert secret not in {e["resource"] for e in guardians}


def test_the_parent_export_history_leaves_out_the_minor_secret(world):
    secret = world.docs["child_secret"]
    assert world.pros["gp"].api.get(f"/api/documents/{secret}").status_code == 200
    r = world.patient.api.get(f"/api/profiles/{world.child_id}/export")
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        events = json.loads(archive.read("access-history.json"))
    assert events and world.docs["child_visit"] in {e["resource"] for e in events}
    assert secret not in {e["resource"] for e in events}


def test_since_reads_offsets_and_times_without_offset_as_utc(world, run):
    person = uuid.UUID(world.citizens["other"].person_id)
    run(history.record, person, actor_kind="pro", actor_id="a", actor_label="Dr Avant", action="document.read")
    time.sleep(0.01)
    cut = datetime.now(UTC)
    time.sleep(0.01)
    run(history.record, person, actor_kind="pro", actor_id="b", actor_label="Dr Apres", action="document.read")
    api = world.citizens["other"].api
    for since in (cut.isoformat(), cut.astimezone(timezone(timedelta(hours=5))).isoformat(),
                  cut.astimezone(timezone(timedelta(hours=-8))).isoformat(),
                  cut.replace(tzinfo=None).isoformat()):
        page = api.get(f"/api/profiles/{person}/access-history", params={"since": since}).json()
        assert [e["actor_label"] for e in page["items"]] == ["Dr Apres"], since
        assert page["total"] == 1
    # Without an offset the time is bound as UTC, whatever the server's local zone (PostgreSQL
    # would otherwise read a naive value in the server's zone).
    _, args = history._filters(person, "self", None, None, None, cut.replace(tzinfo=None))
    assert args[-1] == cut and args[-1].utcoffset() == timedelta(0)
