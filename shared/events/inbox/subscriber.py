"""Durable JetStream consumers with an idempotent inbox, applying events in batches.

A fetch's events are applied in one transaction: each in a savepoint with its inbox row (the event
id, inserted before the handler runs), so an effect happens once however often the event is
delivered — a copy inside the batch or one already in the inbox is skipped. A handler that fails
rolls back its own savepoint only (its partial writes and its inbox row); the others commit, are
acknowledged after the commit, and the failed one is nak'd with exponential backoff; at
``max_deliver`` it is dead-lettered — recorded in the service's ``dead_letters`` table and copied
to the dead-letter stream — and terminated. An admin lists and replays dead letters through
``/api/v1/admin/dlq``. A process killed before the commit acknowledged nothing: the whole batch is
redelivered and applied once.

While the service's own database is unavailable (restarting, unreachable, locked) the consumer
waits and tries the batch again without spending delivery attempts: an outage is not a poison
message, and an outage longer than the backoff would otherwise exhaust ``max_deliver`` and strand
the event (tests/faults/test_database_faults.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from shared import tracing
from shared.backoff import delay_for, until_done
from shared.clock import utcnow
from shared.db import Database, database_unavailable, insert_ignore
from shared.events.bus import Bus
from shared.events.envelope import CloudEvent
from shared.events.inbox import durables
from shared.events.inbox.declared import Consumers, Handler, durable_name, family_of
from shared.events.metrics import DEAD_LETTERED, INBOX_APPLY, INBOX_BATCH
from shared.ids import new_id
from shared.tables import InfraTables

if TYPE_CHECKING:
    from shared.app import Runtime
    from shared.uow import UnitOfWork

log = structlog.get_logger("shared.inbox")

NAK_FIRST, NAK_CAP = 0.25, 30.0  # a failed handler's redelivery delays (shared.backoff)


def backoff_seconds(attempt: int) -> float:
    return delay_for(attempt, first=NAK_FIRST, cap=NAK_CAP)


@dataclass
class Delivery:
    msg: Any
    event: CloudEvent
    handler: Handler
    attempt: int
    applied: bool = False
    error: BaseException | None = None
    seconds: float = 0.0


class Subscriber:
    """The durable consumers of one service, one per event family it consumes."""

    def __init__(
        self,
        *,
        db: Database,
        infra: InfraTables,
        bus: Bus,
        service: str,
        consumers: Consumers,
        max_deliver: int = 8,
        ack_wait: float = 30.0,
    ) -> None:
        self.db = db
        self.infra = infra
        self.bus = bus
        self.service = service
        self.consumers = consumers
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        # The inbox's and the dead letters' consumer key: the service (one family per event type,
        # and the key of the per-service durable of before, so an upgrade's redeliveries dedupe).
        self.durable = service
        self.runtime: Runtime | None = None  # set by the app factory, which builds both
        self.families = [
            durables.FamilyConsumer(
                self, family=key, members=members, durable=durable_name(service, key), patterns=patterns
            )
            for key, (members, patterns) in consumers.durables().items()
        ]
        self._durables_ready = False
        self._durables_lock = asyncio.Lock()
        self.processed_total = 0
        self.batches_total = 0  # transactions that applied events

    @property
    def durable_names(self) -> list[str]:
        return [f.durable for f in self.families]

    def handler_for(self, event_type: str) -> Handler | None:
        return self.consumers.handler_for(event_type)

    def start(self) -> None:
        self.bus.on_reconnected(self._on_reconnected)
        for family in self.families:
            family.start()

    async def stop(self) -> None:
        await asyncio.gather(*(family.stop() for family in self.families))

    async def _on_reconnected(self) -> None:
        for family in self.families:
            family.interrupt_wait()  # the server forgot the pull it held: ask again at once

    async def ensure_durables(self) -> None:
        async with self._durables_lock:
            if not self._durables_ready:
                assert self.bus.js is not None
                await durables.ensure(self.bus.js, self.bus.stream, self.families, legacy=self.service)
                self._durables_ready = True

    def forget_durables(self) -> None:
        self._durables_ready = False

    # --- one fetch ----------------------------------------------------------------------------
    async def process_batch(self, msgs: Sequence[Any], *, durable: str, families: set[str]) -> None:
        """Apply a fetch's events in one transaction, ack after the commit; nak or dead-letter the
        ones whose handler failed."""
        batch: list[Delivery] = []
        for msg in msgs:
            delivery = await self._parse(msg, families)
            if delivery is not None:
                batch.append(delivery)
        if not batch:
            return
        try:
            await self._outlasting_outages([d.msg for d in batch], lambda: self.apply_batch(batch, durable=durable))
        except Exception as exc:  # not a handler's failure (each has its savepoint): one by one
            log.warning("inbox.batch_failed", error=str(exc)[:300], size=len(batch))
            for delivery in batch:
                await self._one_by_one(delivery, durable=durable)
            return
        for delivery in batch:
            await self._settle(delivery)

    async def _parse(self, msg: Any, families: set[str]) -> Delivery | None:
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        try:
            event = CloudEvent.from_json(msg.data)
        except Exception as exc:
            error = exc
            await self._outlasting_outages([msg], lambda: self._dead_letter_raw(msg, error, attempt))
            await msg.term()
            return None
        handler = self.handler_for(event.type)
        if handler is None or family_of(event.type) not in families:  # not ours, or another durable's
            await msg.ack()
            return None
        return Delivery(msg, event, handler, attempt)

    async def apply_batch(self, batch: Sequence[Delivery], *, durable: str) -> None:
        """One transaction for the batch; each event in a savepoint with its inbox row. A database
        outage fails the whole batch (retried); a handler's own failure only its savepoint."""
        assert self.runtime is not None, "the app factory sets the runtime"
        for delivery in batch:
            delivery.applied, delivery.error = False, None
        async with self.runtime.unit_of_work() as uow:
            for delivery in batch:
                started = time.perf_counter()
                uow.request_id = delivery.event.requestid
                try:
                    with self._context(delivery, durable):
                        async with uow.savepoint():
                            delivery.applied = await self._apply_in(uow, delivery.event, delivery.handler)
                except Exception as exc:
                    if database_unavailable(exc):
                        raise
                    delivery.error = exc
                delivery.seconds = time.perf_counter() - started
        self.batches_total += 1
        applied = [d for d in batch if d.applied]
        INBOX_BATCH.labels(self.service, durable).observe(len(applied))
        for delivery in applied:
            INBOX_APPLY.labels(self.service, delivery.event.type).observe(delivery.seconds)

    def _context(self, delivery: Delivery, durable: str) -> Any:
        event = delivery.event
        stack = contextlib.ExitStack()
        stack.enter_context(
            structlog.contextvars.bound_contextvars(
                event_id=event.id, event_type=event.type, attempt=delivery.attempt, request_id=event.requestid
            )
        )
        stack.enter_context(
            tracing.span(
                f"process {event.type}",
                kind=tracing.CONSUMER,
                parent=tracing.from_traceparent(event.traceparent),
                **{
                    "messaging.system": "nats",
                    "messaging.consumer.group.name": durable,
                    "messaging.message.id": event.id,
                },
            )
        )
        return stack

    async def _settle(self, delivery: Delivery) -> None:
        """After the batch committed: ack, or nak / dead-letter a failed handler's event."""
        msg, exc = delivery.msg, delivery.error
        if exc is None:
            await msg.ack()
            if delivery.applied:
                self.processed_total += 1
            return
        with structlog.contextvars.bound_contextvars(event_id=delivery.event.id, event_type=delivery.event.type):
            if delivery.attempt >= self.max_deliver:
                log.error("inbox.dead_lettered", error=str(exc))
                await self._outlasting_outages([msg], lambda: self._dead_letter(delivery.event, exc, delivery.attempt))
                await msg.term()
            else:
                retry_in = backoff_seconds(delivery.attempt)
                log.warning("inbox.handler_failed", error=str(exc), retry_in=retry_in)
                await msg.nak(delay=retry_in)

    async def _one_by_one(self, delivery: Delivery, *, durable: str) -> None:
        """The fallback when a batch's transaction itself failed: each event in its own."""
        try:
            await self._outlasting_outages([delivery.msg], lambda: self.apply_batch([delivery], durable=durable))
        except Exception as exc:
            delivery.applied, delivery.error = False, exc
        await self._settle(delivery)

    async def _outlasting_outages(self, msgs: Sequence[Any], operation: Callable[[], Awaitable[Any]]) -> Any:
        """Run a database operation; while the database is unavailable, wait and try again (telling
        NATS the messages are still in progress) rather than spend their delivery attempts."""

        async def still_working() -> None:
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

        return await until_done(
            operation,
            first=0.2,
            cap=5.0,
            event="inbox.database_unavailable",
            retry_if=database_unavailable,
            before_sleep=still_working,
        )

    async def _apply_in(self, uow: UnitOfWork, event: CloudEvent, handler: Handler) -> bool:
        fresh = await insert_ignore(
            uow.session,
            self.infra.inbox,
            {"consumer": self.durable, "event_id": event.id, "event_type": event.type, "processed_at": utcnow()},
        )
        if fresh:
            await handler(uow, event)
        return fresh

    async def apply(self, event: CloudEvent, handler: Handler) -> bool:
        """Run the handler once per (service, event id), in one unit of work with the inbox row;
        False for a duplicate (a replayed dead letter, tests)."""
        assert self.runtime is not None, "the app factory sets the runtime"
        started = time.perf_counter()
        async with self.runtime.unit_of_work(request_id=event.requestid) as uow:
            fresh = await self._apply_in(uow, event, handler)
        if fresh:
            INBOX_APPLY.labels(self.service, event.type).observe(time.perf_counter() - started)
        return fresh

    # --- dead letters -----------------------------------------------------------------------
    async def _dead_letter(self, event: CloudEvent, exc: BaseException, deliveries: int) -> None:
        envelope = event.model_dump(mode="json", exclude_none=True)
        await self._record_dead_letter(event.id, event.type, envelope, exc, deliveries)

    async def _dead_letter_raw(self, msg: Any, exc: BaseException, deliveries: int) -> None:
        raw = msg.data.decode("utf-8", "replace")
        await self._record_dead_letter(
            f"unparseable-{uuid.uuid4()}", "unparseable", {"raw": raw[:10000]}, exc, deliveries
        )

    async def _record_dead_letter(
        self, event_id: str, event_type: str, envelope: dict[str, Any], exc: BaseException, deliveries: int
    ) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        DEAD_LETTERED.labels(self.service, event_type).inc()
        async with self.db.transaction() as session:
            await insert_ignore(
                session,
                self.infra.dead_letters,
                {
                    "id": new_id(),
                    "consumer": self.durable,
                    "event_id": event_id,
                    "event_type": event_type,
                    "envelope": envelope,
                    "error": error,
                    "deliveries": deliveries,
                    "created_at": utcnow(),
                },
            )
        try:
            import orjson

            await self.bus.publish_raw(
                f"{self.bus.prefix}_dlq.{self.service}.{event_type}",
                orjson.dumps(envelope),
                msg_id=f"{self.durable}:{event_id}",
                headers={"Custody-Error": error[:500].replace("\n", " ")},
            )
        except Exception as pub_exc:
            log.warning("inbox.dlq_publish_failed", error=str(pub_exc))

    async def list_dead_letters(self, *, include_replayed: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        t = self.infra.dead_letters
        stmt = sa.select(t).order_by(t.c.created_at).limit(limit)
        if not include_replayed:
            stmt = stmt.where(t.c.replayed_at.is_(None))
        async with self.db.reader() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return [dict(r) for r in rows]

    async def replay(self, dead_letter_id: uuid.UUID) -> dict[str, Any] | None:
        """Run the handler again on a dead letter; returns the updated row or None if unknown."""
        t = self.infra.dead_letters
        async with self.db.reader() as session:
            row = (await session.execute(sa.select(t).where(t.c.id == dead_letter_id))).mappings().first()
        if row is None:
            return None
        error = None
        try:
            event = CloudEvent.model_validate(row["envelope"])
            handler = self.handler_for(event.type)
            if handler is None:
                raise LookupError(f"no handler for {event.type}")
            await self.apply(event, handler)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        async with self.db.transaction() as session:
            values = {"replay_error": error} if error else {"replayed_at": utcnow(), "replay_error": None}
            await session.execute(sa.update(t).where(t.c.id == dead_letter_id).values(**values))
        async with self.db.reader() as session:
            return dict((await session.execute(sa.select(t).where(t.c.id == dead_letter_id))).mappings().one())
