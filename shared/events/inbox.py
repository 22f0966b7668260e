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
import traceback
import uuid
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database, database_unavailable, insert_ignore
from shared.events.bus import Bus
from shared.events.envelope import CloudEvent
from shared.events.outbox import stop_gracefully
from shared.ids import new_id
from shared.tables import InfraTables

log = structlog.get_logger("shared.inbox")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def backoff_seconds(attempt: int) -> float:
    return min(0.25 * (2 ** (attempt - 1)), 30.0)


class Subscriber:
    """One durable pull consumer per service over the event types it handles."""

    def __init__(self, *, db: Database, infra: InfraTables, bus: Bus, service: str,
                 handlers: dict[str, Handler], max_deliver: int = 8, durable: str | None = None) -> None:
        self.db = db
        self.infra = infra
        self.bus = bus
        self.service = service
        self.handlers = handlers
        self.max_deliver = max_deliver
        self.durable = durable or service
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.processed_total = 0

    def handler_for(self, event_type: str) -> Handler | None:
        for pattern, handler in self.handlers.items():
            if fnmatch.fnmatchcase(event_type, pattern):
                return handler
        return None

    def start(self) -> None:
        if self.handlers:
            self._task = asyncio.create_task(self.run(), name=f"subscriber-{self.service}")

    async def stop(self) -> None:
        await stop_gracefully(self._task, self._request_stop)

    def _request_stop(self) -> None:
        self._stopping = True

    async def _subscribe(self) -> Any:
        js = self.bus.js
        assert js is not None
        config = ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=sorted({self.bus.subject_for(p) for p in self.handlers}),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.max_deliver,
            ack_wait=30,
            max_ack_pending=1000,
        )
        try:
            await js.add_consumer(self.bus.stream, config=config)
        except BadRequestError:
            pass  # exists (another replica); its filters are ours too
        return await js.pull_subscribe_bind(durable=self.durable, stream=self.bus.stream)

    async def run(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                if not self.bus.ready.is_set():
                    await asyncio.sleep(0.2)
                    continue
                sub = await self._subscribe()
                delay = 0.2
                while not self._stopping:
                    try:
                        msgs = await sub.fetch(batch=100, timeout=0.5)
                    except asyncio.TimeoutError:
                        continue
                    for msg in msgs:
                        await self.process(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or consumer gone: resubscribe
                log.warning("inbox.subscription_failed", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def process(self, msg: Any) -> None:
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        try:
            event = CloudEvent.from_json(msg.data)
        except Exception as exc:  # noqa: BLE001 - unparseable: no retry can fix it
            error = exc
            await self._outlasting_outages(msg, lambda: self._dead_letter_raw(msg, error, attempt))
            await msg.term()
            return
        handler = self.handler_for(event.type)
        if handler is None:
            await msg.ack()
            return
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type, attempt=attempt,
                                                     request_id=event.requestid):
            try:
                applied = await self._outlasting_outages(msg, lambda: self.apply(event, handler))
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then dead-lettered
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
        delay = 0.2
        while True:
            try:
                return await operation()
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("inbox.database_unavailable", error=str(exc)[:200], retry_in=delay)
                with contextlib.suppress(Exception):
                    await msg.in_progress()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def apply(self, event: CloudEvent, handler: Handler) -> bool:
        """Run the handler once per (consumer, event id); False for a duplicate."""
        async with self.db.transaction() as session:
            fresh = await insert_ignore(session, self.infra.inbox, {
                "consumer": self.durable, "event_id": event.id, "event_type": event.type, "processed_at": utcnow(),
            })
            if not fresh:
                return False
            await handler(session, event)
        return True

    # --- dead letters -----------------------------------------------------------------------
    async def _dead_letter(self, event: CloudEvent, exc: BaseException, deliveries: int) -> None:
        envelope = event.model_dump(mode="json", exclude_none=True)
        await self._record_dead_letter(event.id, event.type, envelope, exc, deliveries)

    async def _dead_letter_raw(self, msg: Any, exc: BaseException, deliveries: int) -> None:
        raw = msg.data.decode("utf-8", "replace")
        await self._record_dead_letter(f"unparseable-{uuid.uuid4()}", "unparseable", {"raw": raw[:10000]}, exc, deliveries)

    async def _record_dead_letter(self, event_id: str, event_type: str, envelope: dict, exc: BaseException, deliveries: int) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        async with self.db.transaction(notify=False) as session:
            await insert_ignore(session, self.infra.dead_letters, {
                "id": new_id(), "consumer": self.durable, "event_id": event_id, "event_type": event_type,
                "envelope": envelope, "error": error, "deliveries": deliveries, "created_at": utcnow(),
            })
        try:
            import orjson

            await self.bus.publish_raw(
                f"{self.bus.prefix}_dlq.{self.service}.{event_type}", orjson.dumps(envelope),
                msg_id=f"{self.durable}:{event_id}", headers={"Custody-Error": error[:500].replace("\n", " ")},
            )
        except Exception as pub_exc:  # noqa: BLE001 - the table row is the record; the stream copy is a convenience
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
        except Exception as exc:  # noqa: BLE001 - report the failure on the row
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        async with self.db.transaction(notify=False) as session:
            values = {"replay_error": error} if error else {"replayed_at": utcnow(), "replay_error": None}
            await session.execute(sa.update(t).where(t.c.id == dead_letter_id).values(**values))
        async with self.db.reader() as session:
            return dict((await session.execute(sa.select(t).where(t.c.id == dead_letter_id))).mappings().one())
