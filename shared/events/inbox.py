"""Durable JetStream consumers with an idempotent inbox.

For each delivery: the event id is inserted into ``inbox`` in the same transaction as the
handler's effects, so an effect happens once however often the event is delivered. A handler that
fails is nak'd with exponential backoff; at ``max_deliver`` the event is dead-lettered — recorded in
the service's ``dead_letters`` table and copied to the dead-letter stream — and terminated. An admin
lists and replays dead letters through ``/api/v1/admin/dlq``.

While the service's own database is unavailable (restarting, unreachable, locked) the consumer
waits and tries again without spending delivery attempts: an outage is not a poison message, and
an outage longer than the backoff would otherwise exhaust ``max_deliver`` and strand the event
(tests/faults/test_database_faults.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError

from shared import tracing
from shared.backoff import delay_for, until_done
from shared.clock import utcnow
from shared.db import Database, database_unavailable, insert_ignore
from shared.events.bus import Bus
from shared.events.envelope import CloudEvent
from shared.events.metrics import DEAD_LETTERED, INBOX_APPLY
from shared.events.outbox import stop_gracefully
from shared.ids import new_id
from shared.tables import InfraTables

if TYPE_CHECKING:
    from shared.app import Runtime
    from shared.uow import UnitOfWork

log = structlog.get_logger("shared.inbox")

Handler = Callable[["UnitOfWork", CloudEvent], Awaitable[None]]
FETCH_WAIT = 5.0  # a pull waits this long on the bus for messages (a long poll: they arrive at once)
NAK_FIRST, NAK_CAP = 0.25, 30.0  # a failed handler's redelivery delays (shared.backoff)


def backoff_seconds(attempt: int) -> float:
    return delay_for(attempt, first=NAK_FIRST, cap=NAK_CAP)


class Consumers:
    """What a service consumes: event types (or ``family.*`` patterns) and their handlers, declared
    in the service's ``consumers.py`` with ``@consumers.on(EventType.X, ...)``. A handler gets the
    unit of work the inbox opened for the event and the event."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for pattern in patterns:
                self.add(pattern, handler)
            return handler

        return register

    def add(self, pattern: str, handler: Handler) -> None:
        if pattern in self._handlers:
            raise ValueError(f"two handlers for {pattern}")
        self._handlers[str(pattern)] = handler

    def handler_for(self, event_type: str) -> Handler | None:
        exact = self._handlers.get(event_type)
        if exact is not None:
            return exact
        for pattern, handler in self._handlers.items():
            if fnmatch.fnmatchcase(event_type, pattern):
                return handler
        return None

    @property
    def patterns(self) -> list[str]:
        return sorted(self._handlers)

    def __bool__(self) -> bool:
        return bool(self._handlers)


class Subscriber:
    """One durable pull consumer per service over the event types it consumes."""

    def __init__(
        self,
        *,
        db: Database,
        infra: InfraTables,
        bus: Bus,
        service: str,
        consumers: Consumers,
        max_deliver: int = 8,
        durable: str | None = None,
    ) -> None:
        self.db = db
        self.infra = infra
        self.bus = bus
        self.service = service
        self.consumers = consumers
        self.max_deliver = max_deliver
        self.durable = durable or service
        self.runtime: Runtime | None = None  # set by the app factory, which builds both
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._sub: Any = None
        self._idle = False
        self.processed_total = 0

    def handler_for(self, event_type: str) -> Handler | None:
        return self.consumers.handler_for(event_type)

    def start(self) -> None:
        if self.consumers:
            self._task = asyncio.create_task(self.run(), name=f"subscriber-{self.service}")

    async def stop(self) -> None:
        await stop_gracefully(self._task, self._request_stop)

        # A pull subscription left open makes the connection's drain wait for it until its own
        # timeout (2 s at every shutdown, measured): leave it.
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _request_stop(self) -> None:
        self._stopping = True
        if self._idle and self._task is not None:
            self._task.cancel()  # waiting for messages is a safe point: nothing half-done

    async def _subscribe(self) -> Any:
        js = self.bus.js
        assert js is not None
        config = ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=sorted({self.bus.subject_for(p) for p in self.consumers.patterns}),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.max_deliver,
            ack_wait=30,
            max_ack_pending=1000,
        )
        with contextlib.suppress(BadRequestError):  # exists (another replica); its filters are ours too
            await js.add_consumer(self.bus.stream, config=config)
        return await js.pull_subscribe_bind(durable=self.durable, stream=self.bus.stream)

    async def run(self) -> None:
        while not self._stopping:
            if not self.bus.ready.is_set():
                await asyncio.sleep(0.2)
                continue
            try:
                # NATS down or the consumer gone: subscribe again, backing off.
                sub = await until_done(
                    self._subscribe,
                    first=0.2,
                    cap=5.0,
                    event="inbox.subscription_failed",
                    should_stop=lambda: self._stopping or not self.bus.ready.is_set(),
                )
                await self._consume(sub)
            except asyncio.CancelledError:
                if self._stopping:
                    return  # cancelled while waiting for messages, on purpose
                raise
            except Exception as exc:  # the subscription broke: start over
                log.warning("inbox.subscription_lost", error=str(exc)[:300])
                await asyncio.sleep(0.2)

    async def _consume(self, sub: Any) -> None:
        self._sub = sub
        while not self._stopping:
            self._idle = True
            try:
                msgs = await sub.fetch(batch=100, timeout=FETCH_WAIT)
            except TimeoutError:
                continue
            finally:
                self._idle = False
            for msg in msgs:
                await self.process(msg)

    async def process(self, msg: Any) -> None:
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        try:
            event = CloudEvent.from_json(msg.data)
        except Exception as exc:
            error = exc
            await self._outlasting_outages(msg, lambda: self._dead_letter_raw(msg, error, attempt))
            await msg.term()
            return
        handler = self.handler_for(event.type)
        if handler is None:
            await msg.ack()
            return
        with structlog.contextvars.bound_contextvars(
            event_id=event.id, event_type=event.type, attempt=attempt, request_id=event.requestid
        ):
            try:
                with tracing.span(
                    f"process {event.type}",
                    kind=tracing.CONSUMER,
                    parent=tracing.from_traceparent(event.traceparent),
                    **{
                        "messaging.system": "nats",
                        "messaging.consumer.group.name": self.durable,
                        "messaging.message.id": event.id,
                    },
                ):
                    applied = await self._outlasting_outages(msg, lambda: self.apply(event, handler))
            except Exception as exc:
                if attempt >= self.max_deliver:
                    log.error("inbox.dead_lettered", error=str(exc))
                    error = exc
                    await self._outlasting_outages(msg, lambda: self._dead_letter(event, error, attempt))
                    await msg.term()
                else:
                    log.warning("inbox.handler_failed", error=str(exc), retry_in=backoff_seconds(attempt))
                    await msg.nak(delay=backoff_seconds(attempt))
                return
            await msg.ack()
            if applied:
                self.processed_total += 1
                log.debug("inbox.applied")

    async def _outlasting_outages(self, msg: Any, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Run a database operation; while the database is unavailable, wait and try again (telling
        NATS the message is still in progress) rather than spend one of its delivery attempts."""

        async def still_working() -> None:
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

    async def apply(self, event: CloudEvent, handler: Handler) -> bool:
        """Run the handler once per (consumer, event id), in one unit of work with the inbox row;
        False for a duplicate."""
        assert self.runtime is not None, "the app factory sets the runtime"
        started = time.perf_counter()
        async with self.runtime.unit_of_work(request_id=event.requestid) as uow:
            fresh = await insert_ignore(
                uow.session,
                self.infra.inbox,
                {
                    "consumer": self.durable,
                    "event_id": event.id,
                    "event_type": event.type,
                    "processed_at": utcnow(),
                },
            )
            if not fresh:
                return False
            await handler(uow, event)
        INBOX_APPLY.labels(self.service, event.type).observe(time.perf_counter() - started)
        return True

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
