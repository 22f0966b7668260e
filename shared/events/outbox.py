"""The transactional outbox and its relay.

``Outbox.write`` (reached through ``UnitOfWork.emit``) writes the event row in the caller's
transaction, so an event exists exactly when its state change committed. The relay claims pending
rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several replicas never
claim the same row), publishes them with ``Nats-Msg-Id`` = event id, waits for the JetStream acks,
then marks them published. A relay that dies between publishing and marking leaves the rows to be
re-claimed when the lease runs out; the republished copies are dropped by JetStream's duplicate
window and, past it, by the consumers' inboxes.

When the relay queries: a commit that wrote events wakes it with those events (below), and it
publishes and marks them without reading the outbox; a commit that wrote none does not wake it.
The claiming pass (a read first, then the claiming write) runs only at start, after a bulk write
(``wake``), a failure, a full batch, and otherwise once per ``poll_seconds`` (leases that ran
out: a publish lost with its process, another replica's rows).

Fast path: while this process's relay runs, ``UnitOfWork.emit`` writes the row already claimed for
``FAST_LEASE`` and the unit of work hands the event itself to the relay once the transaction
commits (``OutboxRelay.enqueue``), so the relay
publishes it without reading the outbox back (no claim transaction between a commit and its event
on the bus), then marks it. If that publish fails or the process dies first, the lease runs out
and the claiming pass publishes the row as before. Measured in bench/event_latency.py and
bench/shared_write.py (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared import tracing
from shared.backoff import until_done
from shared.clock import Clock, as_utc, utcnow
from shared.db import Database, execute_core
from shared.events.bus import Bus
from shared.events.catalog import source_of, validate_event_data
from shared.events.envelope import CloudEvent
from shared.events.metrics import RELAY_PUBLISH
from shared.ids import new_id

log = structlog.get_logger("shared.outbox")

FAST_LEASE = timedelta(seconds=5)  # a fast-path row is left to the claiming pass after this
MAX_FRESH = 10_000  # events waiting for the fast path (NATS down: the rest wait for their lease)


class Outbox:
    """Writes event rows in the caller's transaction (``UnitOfWork.emit`` is the way in)."""

    def __init__(self, table: sa.Table, clock: Clock | None = None) -> None:
        self.table = table
        self.clock = clock or Clock()

    async def write(
        self,
        session: AsyncSession,
        event_type: str,
        data: dict[str, Any],
        *,
        subject: str | None = None,
        request_id: str | None = None,
        fast: bool = False,
    ) -> CloudEvent:
        """One event row. ``fast``: the row is written already claimed for ``FAST_LEASE``, because the
        caller hands the event to the relay right after commit (the claiming pass takes it only if
        that publish fails or the process dies)."""
        event, row = self.prepare(event_type, data, subject=subject, request_id=request_id, fast=fast)
        await self.insert(session, [row])
        return event

    def prepare(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        subject: str | None = None,
        request_id: str | None = None,
        fast: bool = False,
    ) -> tuple[CloudEvent, dict[str, Any]]:
        """The event (its data checked against the catalog now) and its outbox row, not yet
        written: a unit of work writes all of its rows in one statement before it commits."""
        payload = validate_event_data(event_type, data)
        event = CloudEvent(
            id=str(new_id()),
            source=source_of(event_type),
            type=str(event_type),
            subject=subject or str(payload.get("id")),
            time=self.clock.now(),
            data=payload,
            requestid=request_id,
            traceparent=tracing.current_traceparent(),
        )
        row = {
            "id": uuid.UUID(event.id),
            "type": event.type,
            "subject": event.subject,
            "data": event.data,
            "request_id": event.requestid,
            "traceparent": event.traceparent,
            "created_at": event.time,
            "claimed_until": utcnow() + FAST_LEASE if fast else None,
        }
        return event, row

    async def insert(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
        """Rows from ``prepare``, in one statement, in the caller's transaction."""
        if len(rows) == 1:
            await execute_core(session, sa.insert(self.table).values(**rows[0]))
        elif rows:
            await execute_core(session, sa.insert(self.table), list(rows))

    async def write_many(
        self, session: AsyncSession, events: Sequence[tuple[str, dict[str, Any]]], *, request_id: str | None = None
    ) -> int:
        """Several events in one multi-row INSERT (bulk imports); same checks as ``write``."""
        if not events:
            return 0
        now = self.clock.now()
        traceparent = tracing.current_traceparent()
        rows = []
        for event_type, data in events:
            payload = validate_event_data(event_type, data)
            rows.append(
                {
                    "id": new_id(),
                    "type": str(event_type),
                    "subject": str(payload.get("id")),
                    "data": payload,
                    "request_id": request_id,
                    "traceparent": traceparent,
                    "created_at": now,
                }
            )
        await session.execute(sa.insert(self.table), rows)
        return len(rows)


def envelope_from_row(row: Any) -> CloudEvent:
    return CloudEvent(
        id=str(row.id),
        source=source_of(row.type),
        type=row.type,
        subject=row.subject,
        time=as_utc(row.created_at),
        data=row.data,
        requestid=row.request_id,
        traceparent=row.traceparent,
    )


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        table: sa.Table,
        bus: Bus,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        lease_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.table = table
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fresh: list[CloudEvent] = []
        self._sweep = True  # a claiming pass is due (module docstring: when)
        self._last_sweep = time.monotonic()
        self.published_total = 0

    def wake(self) -> None:
        """Ask for a claiming pass now (rows written without the fast path: bulk imports)."""
        self._sweep = True
        self._wake.set()

    @property
    def accepting(self) -> bool:
        """True while the relay runs: a unit of work may then hand it the events it committed."""
        return self._task is not None and not self._task.done() and not self._stopping

    def enqueue(self, events: list[CloudEvent]) -> None:
        """The events a commit wrote, for the fast path: the relay publishes and marks them and
        reads nothing back (no claiming pass for them)."""
        if len(self._fresh) < MAX_FRESH:
            self._fresh.extend(events)
        else:  # these wait for their lease and the claiming pass
            self._sweep = True
        self._wake.set()

    def start(self) -> None:
        self._sweep = True  # rows left by an earlier run (lease run out, never published)
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.db.service}")

    async def stop(self) -> None:
        await stop_gracefully(self._task, self._request_stop)

    def _request_stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                if not self.bus.ready.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.bus.ready.wait(), self.poll_seconds)
                    self._sweep = True
                    continue
                self._wake.clear()
                # NATS or the database down: back off and try again (shared.backoff).
                count = await until_done(
                    self._round, first=0.1, cap=5.0, event="outbox.relay_failed", should_stop=lambda: self._stopping
                )
                if count >= self.batch_size:
                    self._sweep = True
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # stopping while failing: the rows wait for the next start
                log.warning("outbox.relay_stopped_failing", error=str(exc)[:300])

    async def _round(self) -> int:
        """The fast path's events; the claiming pass only when there is a reason for it (start,
        a bulk write, an idle period, a failure, a full batch) — never because a commit woke us."""
        try:
            published = await self.publish_fresh()
            # Leases that ran out (a publish lost with its process, another replica's rows) are
            # looked for once per ``poll_seconds``, however busy the fast path keeps the relay.
            if self._sweep or time.monotonic() - self._last_sweep >= self.poll_seconds:
                self._sweep = False
                self._last_sweep = time.monotonic()
                published += await self.publish_pending()
        except BaseException:
            self._sweep = True  # the retry claims what the failed publish released
            raise
        return published

    async def publish_fresh(self) -> int:
        """Publish the events handed over at commit (the fast path), then mark their rows."""
        if not self._fresh:
            return 0
        events, self._fresh = self._fresh, []
        results = await asyncio.gather(*(self._publish(e) for e in events), return_exceptions=True)
        done = [uuid.UUID(e.id) for e, res in zip(events, results, strict=False) if not isinstance(res, BaseException)]
        failed = [uuid.UUID(e.id) for e, res in zip(events, results, strict=False) if isinstance(res, BaseException)]
        t = self.table
        async with self.db.transaction() as session:
            if done:
                await session.execute(sa.update(t).where(t.c.id.in_(done)).values(published_at=utcnow()))
            if failed:  # to the claiming pass at once, with its backoff
                await session.execute(
                    sa.update(t).where(t.c.id.in_(failed), t.c.published_at.is_(None)).values(claimed_until=None)
                )
        self.published_total += len(done)
        if failed:
            first = next(res for res in results if isinstance(res, BaseException))
            raise RuntimeError(f"{len(failed)} of {len(events)} events not acknowledged: {first}")
        return len(done)

    async def _publish(self, event: CloudEvent) -> None:
        started = time.perf_counter()
        with tracing.span(
            f"publish {event.type}",
            kind=tracing.PRODUCER,
            parent=tracing.from_traceparent(event.traceparent),
            **{"messaging.system": "nats", "messaging.destination.name": event.type, "messaging.message.id": event.id},
        ):
            await self.bus.publish(event)
        RELAY_PUBLISH.labels(self.db.service).observe(time.perf_counter() - started)

    async def publish_pending(self) -> int:
        rows = await self._claim()
        if not rows:
            return 0
        results = await asyncio.gather(*(self._publish(envelope_from_row(r)) for r in rows), return_exceptions=True)
        done = [r.seq for r, res in zip(rows, results, strict=False) if not isinstance(res, BaseException)]
        failed = [r.seq for r, res in zip(rows, results, strict=False) if isinstance(res, BaseException)]
        t = self.table
        async with self.db.transaction() as session:
            if done:
                await session.execute(sa.update(t).where(t.c.seq.in_(done)).values(published_at=utcnow()))
            if failed:
                await session.execute(sa.update(t).where(t.c.seq.in_(failed)).values(claimed_until=None))
        self.published_total += len(done)
        if failed:
            first = next(res for res in results if isinstance(res, BaseException))
            raise RuntimeError(f"{len(failed)} of {len(rows)} events not acknowledged: {first}")
        return len(done)

    async def _claim(self) -> list[Any]:
        t = self.table
        now = utcnow()
        # Most wake-ups find nothing to claim (the fast path took the events): look first with a
        # read, which on SQLite does not queue for the database's one writer.
        claimable = sa.and_(t.c.published_at.is_(None), sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < now))
        async with self.db.reader() as session:
            if (await session.execute(sa.select(t.c.seq).where(claimable).limit(1))).first() is None:
                return []
        pending = (
            sa.select(t.c.seq)
            .where(t.c.published_at.is_(None), sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < now))
            .order_by(t.c.seq)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            sa.update(t)
            .where(t.c.seq.in_(pending.scalar_subquery()))
            .values(claimed_until=now + self.lease)
            .returning(
                t.c.seq, t.c.id, t.c.type, t.c.subject, t.c.data, t.c.request_id, t.c.traceparent, t.c.created_at
            )
        )
        async with self.db.transaction() as session:
            rows = (await session.execute(stmt)).all()
        return sorted(rows, key=lambda r: r.seq)


async def stop_gracefully(
    task: asyncio.Task[None] | None, request_stop: Callable[[], None], timeout: float = 5.0
) -> None:
    """Ask a background loop to finish its unit of work and stop; cancel it only if it will not.

    Cancelling a task in the middle of a database call can leave an aiosqlite connection
    half-closed and hang the shutdown, so loops stop at a safe point instead."""
    if task is None or task.done():
        return
    request_stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:
        pass
