"""Bus faults over real NATS JetStream and real databases, with throwaway services on the shared
library (``tests/faults/fakes.py``): NATS killed mid-stream, a handler crashing mid-way, duplicate
and out-of-order deliveries, poison messages. Every test counts acknowledged writes, delivered
events, duplicate effects and losses; losses and duplicate effects must be zero."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import nats
import pytest

from devtools.natsserver import NatsServer, free_port
from devtools.testing.apps import running
from devtools.testing.events import make_event
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from shared.events.envelope import CloudEvent
from tests.faults.fakes import (
    Faults,
    effect_counts,
    effects,
    entities,
    entity_data,
    items,
    reader_app,
    rows,
    writer_app,
)
from tests.faults.helpers import record, stream_ids


async def _model(reader) -> dict[str, tuple[str, int]]:
    return {r["id"]: (r["name"], r["version"]) for r in await rows(reader.state.runtime.db, entities)}


async def _writer_state(writer) -> dict[str, tuple[str, int]]:
    return {str(r["id"]): (r["name"], r["version"]) for r in await rows(writer.state.runtime.db, items)}


async def test_nats_killed_mid_stream_and_restarted(backend, tmp_path):
    """SIGKILL the NATS server in the middle of a stream of writes, keep writing while it is down,
    restart it: every acknowledged write reaches the read model once."""
    server = NatsServer(port=free_port(), store_dir=tmp_path / "nats-private", name="fault-nats")
    server.start()
    try:
        settings = backend.settings(nats_url=server.url)
        writer, reader = writer_app(settings), reader_app(settings)
        async with running(writer) as wc, running(reader):
            acked: list[str] = []  # entity ids whose create got a 2xx
            acked_writes = 0
            failed_writes = 0
            expected: dict[str, int] = {}
            total = 240

            async def write_stream() -> None:
                nonlocal acked_writes, failed_writes
                for i in range(total):
                    if acked and i % 4 == 3:
                        target = acked[i % len(acked)]
                        r = await wc.post(f"/items/{target}/rename", json={"name": f"renamed-{i}"})
                        if r.status_code == 200:
                            expected[target] = r.json()["version"]
                    else:
                        r = await wc.post("/items", json={"name": f"item-{i}"})
                        if r.status_code == 201:
                            acked.append(r.json()["id"])
                            expected[r.json()["id"]] = 1
                    if 200 <= r.status_code < 300:
                        acked_writes += 1
                    else:
                        failed_writes += 1
                    await asyncio.sleep(0.01)

            writes = asyncio.create_task(write_stream())
            await eventually(lambda: acked_writes >= 60, timeout=30)
            server.stop(kill=True)
            killed_at = acked_writes
            await asyncio.sleep(1.5)  # writes keep coming while NATS is down
            during_outage = acked_writes - killed_at
            server.start()
            await writes

            async def caught_up():
                model = await _model(reader)
                return model if {k: v[1] for k, v in model.items()} == expected else None

            model = await eventually(caught_up, timeout=60, interval=0.2)
            await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
            assert model == await _writer_state(writer)
            counts = await effect_counts(reader.state.runtime.db)
            ids = await stream_ids(settings.nats_servers, settings.stream_name)
            duplicates = sum(c - 1 for c in counts.values())
            applied = list(await rows(reader.state.runtime.db, effects))
        record(
            "nats-killed-mid-stream",
            backend=backend.kind,
            writes_acknowledged=acked_writes,
            writes_refused=failed_writes,
            acked_during_outage=during_outage,
            events_in_stream=len(ids),
            distinct_events_in_stream=len(set(ids)),
            events_handled=len(counts),
            duplicate_effects=duplicates,
            losses=acked_writes - len(counts),
            stale_ignored=sum(1 for r in applied if not r["applied"]),
        )
        assert failed_writes == 0
        assert during_outage > 0, "the outage should overlap acknowledged writes"
        assert len(counts) == acked_writes and duplicates == 0
        assert len(set(ids)) == acked_writes
    finally:
        server.stop()


async def test_handler_crash_mid_way_is_redelivered_and_applied_once(sqlite_backend):
    """The handler writes part of its effect, then raises: the transaction (effect + inbox row) rolls
    back, the message is nak'd and redelivered, and the effect lands exactly once."""
    settings = sqlite_backend.settings()
    writer, reader = writer_app(settings), reader_app(settings)
    Faults.fail_once_names = {f"crashy-{i}" for i in range(10)}
    async with running(writer) as wc, running(reader):
        names = [f"crashy-{i}" if i % 3 == 0 else f"calm-{i}" for i in range(30)]
        created = []
        for name in names:
            r = await wc.post("/items", json={"name": name})
            assert r.status_code == 201
            created.append(r.json()["id"])
        model = await eventually(lambda: _model_if(reader, len(created)), timeout=30)
        await asyncio.sleep(1.0)
        counts = await effect_counts(reader.state.runtime.db)
        crashed = sum(1 for n in names if n in Faults.fail_once_names)
        attempts = sum(Faults.handled_attempts.values())
    record(
        "handler-crash-mid-way",
        writes_acknowledged=len(created),
        handler_crashes=crashed,
        handler_attempts=attempts,
        events_applied=len(counts),
        duplicate_effects=sum(c - 1 for c in counts.values()),
        losses=len(created) - len(counts),
    )
    assert set(model) == set(created)
    assert len(counts) == len(created) and all(c == 1 for c in counts.values())
    assert attempts == len(created) + crashed


async def _model_if(reader, n):
    model = await _model(reader)
    return model if len(model) >= n else None


async def test_duplicate_and_out_of_order_deliveries(sqlite_backend):
    """Versions 1..5 of 20 entities published shuffled, a third of them again under a new message id
    (JetStream cannot drop those: the inbox must) and a tenth again under the same id (JetStream's
    duplicate window drops those): the read model ends at version 5 everywhere, each event's effect
    is recorded once, and every stale version is ignored."""
    settings = sqlite_backend.settings()
    reader = reader_app(settings)
    rng = random.Random(8)
    events: list[CloudEvent] = []
    for e in range(20):
        entity_id = str(uuid.uuid4())
        for v in range(1, 6):
            events.append(make_event("enterprise.updated", entity_data(entity_id, f"e{e}-v{v}", v)))
    order = events[:]
    rng.shuffle(order)
    new_id_copies = rng.sample(order, len(order) // 3)
    same_id_copies = rng.sample(order, len(order) // 10)
    async with running(reader):
        nc = await nats.connect(settings.nats_servers)
        try:
            js = nc.jetstream()
            published = 0
            deduped_by_nats = 0
            for event in order:
                await js.publish(settings.subject_for(event.type), event.to_json(), headers={"Nats-Msg-Id": event.id})
                published += 1
            for n, event in enumerate(new_id_copies):
                await js.publish(
                    settings.subject_for(event.type), event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-again-{n}"}
                )
                published += 1
            for event in same_id_copies:
                ack = await js.publish(
                    settings.subject_for(event.type), event.to_json(), headers={"Nats-Msg-Id": event.id}
                )
                published += 1
                deduped_by_nats += int(bool(ack.duplicate))
        finally:
            await nc.close()
        expected_in_stream = published - deduped_by_nats

        async def all_consumed():
            return reader.state.runtime.subscriber.processed_total >= len(events) or None

        await eventually(all_consumed, timeout=30)
        await asyncio.sleep(1.5)  # the re-published copies come after; let them be seen and skipped
        model = await _model(reader)
        counts = await effect_counts(reader.state.runtime.db)
        effect_rows = await rows(reader.state.runtime.db, effects)
    stale = sum(1 for r in effect_rows if not r["applied"])
    # What a correct consumer must have applied: in stream order, a version newer than the last applied.
    best: dict[str, int] = {}
    expected_applied = 0
    for event in order:
        if event.data["version"] > best.get(event.data["id"], 0):
            best[event.data["id"]] = event.data["version"]
            expected_applied += 1
    ids = await stream_ids(settings.nats_servers, settings.stream_name)
    record(
        "duplicate-and-out-of-order",
        distinct_events=len(events),
        deliveries_published=published,
        dropped_by_jetstream_dedup=deduped_by_nats,
        messages_in_stream=len(ids),
        redundant_copies_skipped_by_inbox=len(new_id_copies),
        effects_recorded=len(counts),
        duplicate_effects=sum(c - 1 for c in counts.values()),
        applied=len(effect_rows) - stale,
        stale_ignored=stale,
        losses=len(events) - len(counts),
    )
    assert deduped_by_nats == len(same_id_copies)
    assert len(ids) == expected_in_stream
    assert all(version == 5 for _, version in model.values()) and len(model) == 20
    assert all(name.endswith("-v5") for name, _ in model.values())
    assert len(counts) == len(events) and all(c == 1 for c in counts.values())
    assert len(effect_rows) - stale == expected_applied and stale == len(events) - expected_applied


async def test_poison_message_dead_lettered_listed_and_replayed(sqlite_backend):
    """One event whose handler always fails among healthy ones: the healthy ones are not held up;
    the poison is retried up to max_deliver, dead-lettered (table + DLQ stream), listed by the admin
    endpoint, and after the fix a replay applies it once — replaying twice changes nothing. An
    unparseable message is dead-lettered at once."""
    settings = sqlite_backend.settings(max_deliver=3)
    writer, reader = writer_app(settings), reader_app(settings)
    Faults.fail_names = {"poison"}
    async with running(writer) as wc, running(reader) as rc:
        ids = []
        for i in range(12):
            name = "poison" if i == 5 else f"healthy-{i}"
            r = await wc.post("/items", json={"name": name})
            assert r.status_code == 201
            ids.append(r.json()["id"])
        poison_id = ids[5]
        await eventually(lambda: _model_if(reader, 11), timeout=20)

        async def listing():
            r = await rc.get("/api/v1/admin/dlq", headers=auth("admin"))
            assert r.status_code == 200
            return r.json()["items"] or None

        dead = await eventually(listing, timeout=30)
        assert len(dead) == 1 and dead[0]["deliveries"] == 3 and "poisoned handler" in dead[0]["error"]
        attempts_before_dlq = sum(n for eid, n in Faults.handled_attempts.items() if eid == dead[0]["event_id"])
        assert poison_id not in await _model(reader)
        assert (await rc.get("/api/v1/admin/dlq", headers=auth("bureau", district="440703"))).status_code == 403
        assert (await rc.get("/api/v1/admin/dlq")).status_code == 401
        dlq_copies = await stream_ids(settings.nats_servers, f"{settings.stream_name}_DLQ")

        # A message that is not an event at all.
        nc = await nats.connect(settings.nats_servers)
        try:
            await nc.jetstream().publish(
                settings.subject_for("enterprise.updated"), b"\xff{not json", headers={"Nats-Msg-Id": "garbage-1"}
            )
        finally:
            await nc.close()
        both = await eventually(lambda: _dlq_len(rc, 2), timeout=20)
        garbage = next(d for d in both if d["event_type"] == "unparseable")
        assert garbage["deliveries"] == 1

        Faults.fail_names = set()  # "the fix is deployed"
        first = await rc.post(f"/api/v1/admin/dlq/{dead[0]['id']}/replay", headers=auth("admin"))
        assert first.status_code == 200 and first.json()["replayed_at"]
        again = await rc.post(f"/api/v1/admin/dlq/{dead[0]['id']}/replay", headers=auth("admin"))
        assert again.status_code == 200
        model = await _model(reader)
        counts = await effect_counts(reader.state.runtime.db)
        remaining = (await rc.get("/api/v1/admin/dlq", headers=auth("admin"))).json()["items"]
    record(
        "poison-message",
        writes_acknowledged=len(ids),
        healthy_applied_before_fix=11,
        poison_deliveries=attempts_before_dlq,
        dead_lettered=1,
        dlq_stream_copies=len(dlq_copies),
        unparseable_dead_lettered=1,
        replays=2,
        effects_after_replay=len(counts),
        duplicate_effects=sum(c - 1 for c in counts.values()),
        losses=len(ids) - len(counts),
    )
    assert attempts_before_dlq == 3 and len(dlq_copies) == 1
    assert poison_id in model and len(model) == 12
    assert len(counts) == 12 and all(c == 1 for c in counts.values())
    assert [d["event_type"] for d in remaining] == ["unparseable"]


async def _dlq_len(client, n):
    items_ = (await client.get("/api/v1/admin/dlq", headers=auth("admin"))).json()["items"]
    return items_ if len(items_) >= n else None


@pytest.mark.slow
async def test_consumer_process_sigkilled_mid_handler(sqlite_backend, tmp_path):
    """The consumer is a real process; its handler SIGKILLs it after writing part of its effect,
    inside the transaction. Restarted, it gets the unacknowledged event again (after JetStream's
    ack wait, 30 s) and applies it once; the events around it are applied once too."""
    from shared.db import Database
    from tests.faults.procs import AppProcess

    settings = sqlite_backend.settings()
    mark = tmp_path / "killed-once"
    reader = AppProcess(
        "tests.faults.fakes:reader_from_env",
        settings,
        tmp_path / "logs" / "reader.log",
        extra_env={"FAULT_KILL_ON": "kill-me", "FAULT_KILL_MARK": str(mark)},
    ).start()
    writer = writer_app(settings)
    db = None
    try:
        await asyncio.to_thread(reader.wait_ready)
        async with running(writer) as wc:
            ids = []
            for i in range(20):
                r = await wc.post("/items", json={"name": "kill-me" if i == 10 else f"fine-{i}"})
                assert r.status_code == 201
                ids.append(r.json()["id"])
            await eventually(lambda: mark.exists() and not reader.running, timeout=30)
            died_at = time.monotonic()
            reader.start()  # same environment: the mark file makes the crash happen only once
            await asyncio.to_thread(reader.wait_ready)
            db = Database(settings.database_url_for("reader"), service="reader")

            async def all_applied():
                return len(await effect_counts(db)) >= len(ids) or None

            await eventually(all_applied, timeout=90, interval=0.5)
            redelivered_after = time.monotonic() - died_at
            await asyncio.sleep(1.0)
            counts = await effect_counts(db)
            model = {r["id"] for r in await rows(db, entities)}
    finally:
        reader.stop()
        if db is not None:
            await db.dispose()
    record(
        "consumer-process-killed-mid-handler",
        writes_acknowledged=len(ids),
        consumer_crashes=1,
        redelivered_and_applied_after_seconds=round(redelivered_after, 1),
        events_applied=len(counts),
        duplicate_effects=sum(c - 1 for c in counts.values()),
        losses=len(set(ids) - model),
    )
    assert model == set(ids) and len(counts) == len(ids) and all(c == 1 for c in counts.values())
