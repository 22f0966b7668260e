"""The inbox under bursts (issue #20 item 2), over real NATS and both databases: a backlog is applied
in batches (many events per transaction) still exactly once — copies inside a batch or already in
the inbox skipped, a failing handler undoing only its own event, a process killed mid-batch
re-applying nothing twice; one durable consumer per event family, so a contract never waits behind
enterprise events; and the upgrade from the single per-service durable of before."""

from __future__ import annotations

import asyncio
from collections import Counter

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from shared.events.envelope import CloudEvent
from tests.shared.fakesvc import Poison, ProcessKilled, Switches, consumer_app, producer_app, seen_rows


@pytest.fixture(autouse=True)
def _reset_switches():
    Switches.reset()
    yield
    Switches.reset()


async def _notes(client, names) -> list[str]:
    ids = []
    for name in names:
        r = await client.post("/notes", json={"name": name})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _published(producer, n: int) -> None:
    await eventually(lambda: producer.state.runtime.relay.published_total >= n, timeout=15)


async def _rows_when(app, n: int, timeout: float = 20):
    async def enough():
        rows = await seen_rows(app)
        return rows if len(rows) >= n else None

    return await eventually(enough, timeout=timeout)


def _effects_per_event(rows) -> Counter:
    return Counter(r["event_id"] for r in rows)


async def test_a_backlog_is_applied_in_a_few_transactions_exactly_once(backend):
    settings = backend.settings()
    producer = producer_app(settings)
    async with running(producer) as pc:
        first = consumer_app(settings)
        async with running(first):
            await _notes(pc, ["early"])
            await _rows_when(first, 1)
        # The consumer is down: a backlog builds up, with copies under new message ids (JetStream
        # cannot drop them) of an event already applied and of events inside the backlog.
        await _notes(pc, [f"b{i}" for i in range(60)])
        await _published(producer, 61)
        events = await read_events(settings)
        bus = producer.state.runtime.bus
        for copy, event in enumerate([events[0], events[5], events[6], events[30], events[5]]):
            await bus.publish_raw(bus.subject_for(event.type), event.to_json(), msg_id=f"{event.id}-copy-{copy}")
        consumer = consumer_app(settings)
        async with running(consumer):
            rows = await _rows_when(consumer, 61)
            await eventually(lambda: consumer.state.runtime.subscriber.processed_total >= 60, timeout=15)
            await asyncio.sleep(0.5)  # time for a wrong extra effect to show
            rows = await seen_rows(consumer)
            subscriber = consumer.state.runtime.subscriber
            assert subscriber.processed_total == 60  # the 60 new ones; the 5 copies skipped
            assert subscriber.batches_total <= 3  # 65 deliveries, at most 100 per transaction
    counts = _effects_per_event(rows)
    assert len(counts) == 61 and set(counts.values()) == {1}
    assert sorted(counts) == sorted(e.id for e in events)


async def test_a_failing_handler_in_a_batch_loses_and_doubles_nothing(backend):
    settings = backend.settings(max_deliver=2)
    producer = producer_app(settings)
    Poison.names = {"b7"}
    async with running(producer) as pc:
        ids = await _notes(pc, [f"b{i}" for i in range(20)])
        await _published(producer, 20)
        consumer = consumer_app(settings)
        async with running(consumer) as cc:
            listing = await eventually(lambda: _dead_letters(cc), timeout=30)
            rows = await seen_rows(consumer)
            # 19 applied once; the poisoned one's own write (made before it raised) undone with it
            assert sorted(r["entity_id"] for r in rows) == sorted(ids[:7] + ids[8:])
            assert set(_effects_per_event(rows).values()) == {1}
            assert listing[0]["deliveries"] == 2 and "poisoned handler for b7" in listing[0]["error"]
            assert consumer.state.runtime.subscriber.batches_total < 19
            Poison.names = set()
            replay = await cc.post(f"/api/v1/admin/dlq/{listing[0]['id']}/replay", headers=auth("admin"))
            assert replay.status_code == 200 and replay.json()["replayed_at"]
            rows = await seen_rows(consumer)
    assert sorted(r["entity_id"] for r in rows) == sorted(ids)
    assert set(_effects_per_event(rows).values()) == {1}


async def _dead_letters(client):
    r = await client.get("/api/v1/admin/dlq", headers=auth("admin"))
    assert r.status_code == 200
    return r.json()["items"]


async def test_a_process_killed_mid_batch_reapplies_nothing_twice(backend):
    settings = backend.settings(inbox_ack_wait_seconds=2)
    producer = producer_app(settings)
    async with running(producer) as pc:
        ids = await _notes(pc, [f"k{i}" for i in range(30)])
        await _published(producer, 30)
        Switches.kill_on = "k15"
        crashed = consumer_app(settings)
        async with running(crashed):
            family = next(f for f in crashed.state.runtime.subscriber.families if f.family == "enterprise")
            await eventually(lambda: family._task is not None and family._task.done(), timeout=15)
            assert isinstance(family._task.exception(), ProcessKilled)
            # the batch holding k15 was never committed nor acknowledged: its earlier events too
            assert len(await seen_rows(crashed)) < 16
        restarted = consumer_app(settings)
        async with running(restarted):
            await _rows_when(restarted, 30, timeout=30)
            await asyncio.sleep(0.5)
            rows = await seen_rows(restarted)
    assert sorted(r["entity_id"] for r in rows) == sorted(ids)
    assert set(_effects_per_event(rows).values()) == {1}


async def test_each_family_has_its_own_durable(backend):
    settings = backend.settings()
    consumer = consumer_app(settings)
    async with running(consumer):
        runtime = consumer.state.runtime
        assert sorted(runtime.subscriber.durable_names) == ["consumer_contract", "consumer_enterprise"]
        contract = CloudEvent(source="/contracts", type="contract.filed", subject="c1", data={"id": "c1", "version": 1})
        await runtime.bus.publish(contract)
        await _rows_when(consumer, 1)
        js = runtime.bus.js
        for family, subject in (("contract", "contract.*"), ("enterprise", "enterprise.*")):
            info = await js.consumer_info(runtime.bus.stream, f"consumer_{family}")
            assert (info.config.filter_subjects or [info.config.filter_subject]) == [settings.subject_for(subject)]


async def test_a_contract_event_does_not_wait_behind_a_held_up_enterprise_family(postgres_backend):
    """PostgreSQL: the families' transactions run side by side. (On SQLite they take turns at the
    one writer, so a contract event waits for at most the enterprise batch being applied.)"""
    settings = postgres_backend.settings()
    producer, consumer = producer_app(settings), consumer_app(settings)
    Switches.enterprise_gate = asyncio.Event()  # the enterprise family is held up (a burst)
    async with running(producer) as pc, running(consumer):
        await _notes(pc, [f"e{i}" for i in range(5)])
        await _published(producer, 5)
        contract = CloudEvent(source="/contracts", type="contract.filed", subject="c1", data={"id": "c1", "version": 1})
        await producer.state.runtime.bus.publish(contract)
        rows = await _rows_when(consumer, 1)
        assert [r["event_id"] for r in rows] == [contract.id]  # while every enterprise event waits
        Switches.enterprise_gate.set()
        rows = await _rows_when(consumer, 6)
    assert len(rows) == 6


async def test_the_per_service_durable_of_before_is_taken_over_from_its_ack_floor(backend):
    """An upgraded service neither replays what its old durable acknowledged nor skips what it had
    not: its family durables start after the old one's ack floor, and the old one is deleted."""
    settings = backend.settings()
    producer = producer_app(settings)
    async with running(producer) as pc:
        ids = await _notes(pc, [f"u{i}" for i in range(5)])
        await _published(producer, 5)
        nc = await nats.connect(settings.nats_servers)
        try:
            js = nc.jetstream()
            await js.add_consumer(
                settings.stream_name,
                config=ConsumerConfig(
                    durable_name="consumer",
                    filter_subject=settings.subject_for("enterprise.*"),
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                ),
            )
            old = await js.pull_subscribe_bind(durable="consumer", stream=settings.stream_name)
            for msg in await old.fetch(batch=3, timeout=5):  # the old service applied three
                await msg.ack_sync()
            await old.unsubscribe()
            consumer = consumer_app(settings)
            async with running(consumer):
                rows = await _rows_when(consumer, 2)
                await asyncio.sleep(1.0)  # time for a wrong redelivery to show
                rows = await seen_rows(consumer)
                with pytest.raises(NotFoundError):
                    await js.consumer_info(settings.stream_name, "consumer")
                info = await js.consumer_info(settings.stream_name, "consumer_enterprise")
                assert info.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
        finally:
            await nc.close()
    assert sorted(r["entity_id"] for r in rows) == sorted(ids[3:])
