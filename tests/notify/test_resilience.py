"""Nothing lost, nothing doubled: webhook deliveries pending on the work queue survive a notify
restart and a NATS outage; every event still makes exactly one inbox item per recipient."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from devtools.natsserver import NatsServer, free_port
from devtools.testing.wait import eventually
from tests.notify.conftest import Receiver, receiving
from tests.notify.helpers import items, publish_many, seeded, started
from tests.notify.test_webhooks import subscribe
from tests.notify.world import World

RETRY = {"webhook_retry_first_seconds": 0.3, "webhook_retry_cap_seconds": 1.0}


def visits(world: World, count: int, tag: str) -> list[tuple[str, dict]]:
    return [
        (
            "servicelog.recorded",
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "contract_id": world.contract,
                "agency_id": world.agency1,
                "enterprise_uscc": world.UE1,
                "visit_date": "2026-04-01",
                "tag": f"{tag}-{n}",
            },
        )
        for n in range(count)
    ]


# An event or job that a stopped process's open pull had taken comes back after the consumer's
# ack wait (30 s for the bus, 60 s for the work queue): a restart loses nothing, but may delay.
AFTER_ACK_WAIT = 75


async def exactly_once(client, person, event_count: int) -> None:
    async def all_there():
        found = await items(client, person, kind="servicelog.recorded")
        return found if len(found) >= event_count else None

    found = await eventually(all_there, timeout=AFTER_ACK_WAIT, interval=0.2)
    await asyncio.sleep(0.5)
    found = await items(client, person, kind="servicelog.recorded")
    assert len(found) == event_count == len({i["subject_id"] for i in found}), "one item per event, none twice"


@pytest.mark.timeout(300)
async def test_pending_deliveries_survive_a_notify_restart(env):
    settings = env.settings(**RETRY)
    world = World()
    port = free_port()  # nobody listens yet: every attempt fails and is retried
    url = f"http://127.0.0.1:{port}/hook"
    async with started(settings) as client:
        await seeded(settings, client, world)
        await subscribe(client, world["E1"], url, ["servicelog.recorded"])
        first = await publish_many(settings, visits(world, 5, "before"))
        await exactly_once(client, world["E1"], 5)
    # notify is down: more events arrive meanwhile
    second = await publish_many(settings, visits(world, 5, "while-down"))
    async with receiving(Receiver(port=port)) as hook, started(settings) as client:
        await eventually(
            lambda: {r["headers"]["webhook-id"] for r in hook.requests} >= {*first, *second},
            timeout=AFTER_ACK_WAIT,
            interval=0.2,
        )
        await exactly_once(client, world["E1"], 10)


@pytest.mark.timeout(300)
async def test_nats_outage_loses_nothing_and_doubles_nothing(env, tmp_path):
    server = NatsServer(port=free_port(), store_dir=tmp_path / "nats-private", name="notify-fault-nats")
    server.start()
    try:
        settings = env.settings(**RETRY, nats_url=server.url)
        world = World()
        async with receiving() as hook, started(settings) as client:
            await seeded(settings, client, world)
            await subscribe(client, world["E1"], hook.url, ["servicelog.recorded"])
            sent = await publish_many(settings, visits(world, 20, "burst"))
            server.stop(kill=True)
            await asyncio.sleep(1.5)
            server.start()
            sent += await publish_many(settings, visits(world, 10, "after"))
            await eventually(
                lambda: {r["headers"]["webhook-id"] for r in hook.requests} >= set(sent),
                timeout=AFTER_ACK_WAIT,
                interval=0.2,
            )
            await exactly_once(client, world["E1"], 30)
    finally:
        server.stop()


async def test_two_replicas_share_the_work_once(postgres_backend):
    """Two notify replicas on one database: every event makes its items once and every webhook
    job is attempted once, by one replica or the other."""
    from tests.notify.conftest import delete_stream
    from tests.notify.test_webhooks import deliveries

    settings = postgres_backend.settings()
    world = World()
    try:
        async with receiving() as hook, started(settings) as one:
            await seeded(settings, one, world)  # through one replica (accounts before the events that need them)
            sub = await subscribe(one, world["E1"], hook.url, ["servicelog.recorded"])
            async with started(settings) as two:
                sent = await publish_many(settings, visits(world, 20, "replicas"))
                await eventually(lambda: {r["headers"]["webhook-id"] for r in hook.requests} >= set(sent), timeout=30)
                await exactly_once(two, world["E1"], 20)
                await asyncio.sleep(0.5)
                assert len(hook.requests) == 20
                assert len(await deliveries(one, world["E1"], sub["id"])) == 20
    finally:
        await delete_stream(postgres_backend.nats_url, f"T{postgres_backend.tag.upper()}_NOTIFY")
