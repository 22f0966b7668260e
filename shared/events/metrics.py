"""Prometheus metrics of the bus, for an operator: what waits in the outbox and for how long, how
far each durable consumer is behind, what was dead-lettered, and how long publishing and applying
take. The gauges are sampled when ``/metrics`` is scraped (two indexed queries and one JetStream
call per durable: a service has one per event family it consumes), so an idle platform spends nothing on them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram

from shared.clock import as_utc, utcnow
from shared.db import Database
from shared.events.bus import Bus
from shared.tables import InfraTables

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

OUTBOX_PENDING = Gauge("custody_outbox_pending", "Events written but not yet acknowledged by the bus", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "custody_outbox_oldest_age_seconds", "Age of the oldest event not yet acknowledged (0: none)", ["service"]
)
CONSUMER_PENDING = Gauge(
    "custody_consumer_pending", "Events in the stream not yet delivered to the consumer", ["service", "durable"]
)
CONSUMER_ACK_PENDING = Gauge(
    "custody_consumer_ack_pending", "Events delivered to the consumer and not yet acknowledged", ["service", "durable"]
)
DEAD_LETTERS = Gauge("custody_dead_letters", "Dead letters not yet replayed", ["service"])
DEAD_LETTERED = Counter("custody_dead_lettered_total", "Events dead-lettered", ["service", "event_type"])
RELAY_PUBLISH = Histogram(
    "custody_relay_publish_seconds", "One event's publish until the JetStream ack", ["service"], buckets=_FAST
)
INBOX_APPLY = Histogram(
    "custody_inbox_apply_seconds",
    "One event's handler and inbox row, committed",
    ["service", "event_type"],
    buckets=_FAST,
)

INBOX_BATCH = Histogram(
    "custody_inbox_batch_events",
    "Events applied by one inbox transaction (a fetch's batch)",
    ["service", "durable"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)

CONSUMER_INFO_TIMEOUT = 1.0  # a scrape must answer even while NATS does not


async def sample(*, service: str, db: Database, infra: InfraTables, bus: Bus, durables: Sequence[str]) -> None:
    """Refresh the gauges of one service (outbox, dead letters, the lag of each durable consumer)."""
    outbox, dead = infra.outbox, infra.dead_letters
    async with db.reader() as session:
        pending, oldest = (
            await session.execute(
                sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            )
        ).one()
        waiting = (
            await session.execute(sa.select(sa.func.count()).select_from(dead).where(dead.c.replayed_at.is_(None)))
        ).scalar_one()
    OUTBOX_PENDING.labels(service).set(pending)
    OUTBOX_OLDEST_AGE.labels(service).set(_age(oldest))
    DEAD_LETTERS.labels(service).set(waiting)
    if durables and bus.connected and bus.js is not None:
        js = bus.js

        async def lag(durable: str) -> None:
            with contextlib.suppress(Exception):  # no consumer yet, or NATS away: the last value stands
                info = await asyncio.wait_for(js.consumer_info(bus.stream, durable), CONSUMER_INFO_TIMEOUT)
                CONSUMER_PENDING.labels(service, durable).set(info.num_pending or 0)
                CONSUMER_ACK_PENDING.labels(service, durable).set(info.num_ack_pending or 0)

        await asyncio.gather(*(lag(durable) for durable in durables))


def _age(oldest: datetime | None) -> float:
    return max(0.0, (utcnow() - as_utc(oldest)).total_seconds()) if oldest is not None else 0.0
