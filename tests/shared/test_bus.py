"""The outbox, relay and inbox over real NATS JetStream, on both backends: an event written in one
service's transaction reaches a consumer in another exactly once."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import sqlalchemy as sa

from devtools.natsserver import NatsServer, free_port
from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from shared.events.envelope import CloudEvent
from shared.events.outbox import OutboxRelay, envelope_from_row
from tests.schemas import load_schema
from tests.shared.fakesvc import Poison, consumer_app, producer_app, seen_rows

CLOUDEVENTS_SCHEMA = load_schema("cloudevents.json")


async def stream_messages(settings) -> list[CloudEvent]:
    return await read_events(settings)


async def test_event_reaches_consumer_exactly_once(backend):
    settings = backend.settings()
    producer, consumer = producer_app(settings), consumer_app(settings)
    async with running(producer) as pc, running(consumer):
        ids = []
        for i in range(20):
            r = await pc.post("/notes", json={"name": f"n{i}"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        rows = await eventually(lambda: _rows_if(consumer, 20), timeout=15)
        assert sorted(r["entity_id"] for r in rows) == sorted(ids)
        await asyncio.sleep(0.5)
        assert len(await seen_rows(consumer)) == 20
    events = await stream_messages(settings)
    assert len(events) == 20
    for event in events:
        jsonschema.validate(json.loads(event.to_json()), CLOUDEVENTS_SCHEMA)
        assert event.source == "/enterprises" and event.type == "enterprise.registered"


async def _rows_if(app, n):
    rows = await seen_rows(app)
    return rows if len(rows) >= n else None


async def test_rolled_back_transaction_publishes_nothing(backend):
    settings = backend.settings()
    producer = producer_app(settings)
    async with running(producer) as pc:
        r = await pc.post("/notes?fail=true", json={"name": "x"})
        assert r.status_code == 500
        r = await pc.post("/notes", json={"name": "kept"})
        assert r.status_code == 201
        await eventually(lambda: producer.state.runtime.relay.published_total >= 1)
        await asyncio.sleep(0.3)
    events = await stream_messages(settings)
    assert [e.data["name"] for e in events] == ["kept"]


async def test_duplicate_deliveries_apply_once(backend):
    settings = backend.settings()
    producer, consumer = producer_app(settings), consumer_app(settings)
    async with running(producer) as pc, running(consumer):
        r = await pc.post("/notes", json={"name": "dup"})
        await eventually(lambda: _rows_if(consumer, 1))
        original = (await stream_messages(settings))[0]
        # The same event published again under another message id: JetStream cannot dedupe it,
        # the inbox must.
        bus = producer.state.runtime.bus
        for n in range(3):
            await bus.publish_raw(bus.subject_for(original.type), original.to_json(), msg_id=f"{original.id}-again-{n}")
        await eventually(lambda: consumer.state.runtime.subscriber.processed_total >= 1)
        await asyncio.sleep(1.0)
        rows = await seen_rows(consumer)
        assert len(rows) == 1 and rows[0]["entity_id"] == r.json()["id"]


async def test_relay_dying_between_publish_and_mark_delivers_once(backend):
    settings = backend.settings(relay_poll_seconds=60)
    producer, consumer = producer_app(settings), consumer_app(settings)
    async with running(producer) as pc, running(consumer):
        ctx = producer.state.runtime
        await ctx.relay.stop()  # the relay "dies": rows stay pending
        r = await pc.post("/notes", json={"name": "crash"})
        assert r.status_code == 201
        t = ctx.infra.outbox
        async with ctx.db.reader() as s:
            row = (await s.execute(sa.select(t))).one()
        await ctx.bus.publish(envelope_from_row(row))  # published, never marked
        await eventually(lambda: _rows_if(consumer, 1))
        # A new relay (the restarted process) finds the row unmarked and publishes it again.
        relay = OutboxRelay(ctx.db, t, ctx.bus, poll_seconds=0.2, lease_seconds=0.1)
        assert await relay.publish_pending() == 1
        async with ctx.db.reader() as s:
            assert (await s.execute(sa.select(t.c.published_at))).scalar() is not None
        await asyncio.sleep(1.0)
        assert len(await seen_rows(consumer)) == 1


async def test_two_relays_on_one_database_publish_each_event_once(postgres_backend):
    settings = postgres_backend.settings(relay_poll_seconds=60)
    producer = producer_app(settings)
    async with running(producer) as pc:
        ctx = producer.state.runtime
        await ctx.relay.stop()
        for i in range(150):
            assert (await pc.post("/notes", json={"name": f"r{i}"})).status_code == 201
        relays = [OutboxRelay(ctx.db, ctx.infra.outbox, ctx.bus, batch_size=10) for _ in range(2)]

        async def drain(relay):
            while await relay.publish_pending():
                pass

        await asyncio.gather(drain(relays[0]), drain(relays[1]))
        assert relays[0].published_total + relays[1].published_total == 150
        assert min(r.published_total for r in relays) > 0
    events = await stream_messages(settings)
    assert len(events) == 150 and len({e.id for e in events}) == 150


async def test_write_succeeds_while_nats_is_down_and_event_arrives_after(sqlite_backend, tmp_path):
    server = NatsServer(port=free_port(), store_dir=tmp_path / "own-nats")
    server.start()
    try:
        settings = sqlite_backend.settings(nats_url=server.url)
        producer, consumer = producer_app(settings), consumer_app(settings)
        async with running(producer) as pc, running(consumer):
            server.stop()
            r = await pc.post("/notes", json={"name": "while-down"})
            assert r.status_code == 201
            ready = await pc.get("/readyz")
            assert ready.status_code == 503
            await asyncio.sleep(1.0)
            server.start()
            rows = await eventually(lambda: _rows_if(consumer, 1), timeout=30)
            assert rows[0]["entity_id"] == r.json()["id"]
            await eventually(lambda: _ready(pc), timeout=10)
    finally:
        server.stop()


async def _ready(client):
    return (await client.get("/readyz")).status_code == 200


async def test_poison_message_is_dead_lettered_listed_and_replayed(sqlite_backend):
    settings = sqlite_backend.settings(max_deliver=3)
    producer, consumer = producer_app(settings), consumer_app(settings)
    Poison.failing = True
    try:
        async with running(producer) as pc, running(consumer) as cc:
            await pc.post("/notes", json={"name": "poison"})
            listing = await eventually(lambda: _dead_letters(cc), timeout=20)
            assert listing[0]["event_type"] == "enterprise.registered"
            assert listing[0]["deliveries"] == 3 and "poisoned handler" in listing[0]["error"]
            assert await seen_rows(consumer) == []
            # Only an admin may look.
            assert (await cc.get("/api/v1/admin/dlq", headers=auth("bureau", district="440703"))).status_code == 403
            Poison.failing = False
            replay = await cc.post(f"/api/v1/admin/dlq/{listing[0]['id']}/replay", headers=auth("admin"))
            assert replay.status_code == 200 and replay.json()["replayed_at"]
            assert len(await seen_rows(consumer)) == 1
            assert (await cc.get("/api/v1/admin/dlq", headers=auth("admin"))).json()["items"] == []
    finally:
        Poison.failing = False


async def _dead_letters(client):
    r = await client.get("/api/v1/admin/dlq", headers=auth("admin"))
    assert r.status_code == 200
    return r.json()["items"]
