"""The bus's metrics an operator reads (issue #21 item 3, #20 item 2): outbox pending and oldest age,
consumer lag per durable, dead letters, publish and apply latency — over real NATS and databases."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from tests.shared.fakesvc import Poison, consumer_app, producer_app, seen_rows


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_outbox_pending_and_age_while_the_bus_is_away(backend) -> None:
    settings = backend.settings(nats_url="nats://127.0.0.1:1")  # nothing listens there
    producer = producer_app(settings)
    async with running(producer, wait_for_bus=False) as client:
        for name in ("a", "b"):
            assert (await client.post("/notes", json={"name": name})).status_code == 201
        samples = await scrape(client)
    assert value(samples, "custody_outbox_pending", service="producer") == 2
    assert value(samples, "custody_outbox_oldest_age_seconds", service="producer") >= 0


async def test_published_events_leave_the_outbox_and_time_their_publish(backend) -> None:
    settings = backend.settings()
    producer = producer_app(settings)
    async with running(producer) as client:
        before = value(await scrape(client), "custody_relay_publish_seconds_count", service="producer") or 0
        assert (await client.post("/notes", json={"name": "sent"})).status_code == 201
        await eventually(lambda: producer.state.runtime.relay.published_total >= 1)
        samples = await scrape(client)
    assert value(samples, "custody_outbox_pending", service="producer") == 0
    assert value(samples, "custody_outbox_oldest_age_seconds", service="producer") == 0
    assert value(samples, "custody_relay_publish_seconds_count", service="producer") == before + 1


async def test_consumer_lag_and_dead_letters(sqlite_backend) -> None:
    settings = sqlite_backend.settings(max_deliver=2)
    producer, consumer = producer_app(settings), consumer_app(settings)
    Poison.failing = True
    try:
        async with running(producer) as pc, running(consumer) as cc:
            for i in range(3):
                assert (await pc.post("/notes", json={"name": f"p{i}"})).status_code == 201

            async def lagging():
                samples = await scrape(cc)
                behind = (
                    value(samples, "custody_consumer_pending", service="consumer", durable="consumer_enterprise") or 0
                ) + (
                    value(samples, "custody_consumer_ack_pending", service="consumer", durable="consumer_enterprise")
                    or 0
                )
                return behind >= 1

            await eventually(lagging, timeout=10)

            async def dead_lettered():
                samples = await scrape(cc)
                return value(samples, "custody_dead_letters", service="consumer") == 3 and samples

            samples = await eventually(dead_lettered, timeout=30)
            assert (
                value(samples, "custody_dead_lettered_total", service="consumer", event_type="enterprise.registered")
                or 0
            ) >= 3
            Poison.failing = False
            assert (await pc.post("/notes", json={"name": "healthy"})).status_code == 201
            await eventually(lambda: seen_rows(consumer), timeout=10)

            async def caught_up():
                samples = await scrape(cc)
                return (
                    value(samples, "custody_consumer_pending", service="consumer", durable="consumer_enterprise") == 0
                    and value(
                        samples, "custody_consumer_ack_pending", service="consumer", durable="consumer_enterprise"
                    )
                    == 0
                    and samples
                )

            samples = await eventually(caught_up, timeout=10)
            applied = value(
                samples, "custody_inbox_apply_seconds_count", service="consumer", event_type="enterprise.registered"
            )
            assert applied is not None and applied >= 1
    finally:
        Poison.failing = False
