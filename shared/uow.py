"""The unit of work: one transaction and everything a use case may touch in it.

``async with uow:`` opens one write transaction (committed on success, rolled back on an error)
and gives ``uow.session``, ``uow.emit`` (the transactional outbox), ``uow.audit`` (the hash-chained
audit trail), ``uow.clock``, ``uow.policy`` and ``uow.principal``. ``async with uow.read():``
opens a read-only session instead (SQLite: the reader engine, which never queues for the writer).

A request handler gets one from the ``UoW`` dependency (``shared.app``), an event handler from the
inbox and a sweep from the sweeper — the same object, so an event emitted while handling an event
takes the same outbox and relay fast path. Nothing is hidden in session listeners or context
variables: what happens at commit is what this class does in ``__aexit__`` —

1. the ``before_commit`` hooks given at construction run inside the transaction (the
   Idempotency-Key marker: "this request's effects committed", atomically with the effects);
2. the transaction commits;
3. the events it wrote are handed to this process's outbox relay, which publishes them at once
   (the fast path); the relay is woken only when the transaction wrote events.

Entering a unit of work that is already open joins its transaction, so use cases compose: a
use case called from an event handler runs in the handler's transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit_trail
from shared.auth import Principal
from shared.clock import Clock
from shared.events.catalog import EventType
from shared.events.envelope import CloudEvent
from shared.policy import Policy

if TYPE_CHECKING:
    from shared.app import Runtime

BeforeCommit = Callable[[AsyncSession], Awaitable[None]]


class UnitOfWork:
    def __init__(
        self,
        runtime: Runtime,
        *,
        principal: Principal,
        request_id: str | None = None,
        before_commit: Sequence[BeforeCommit] = (),
    ) -> None:
        self.runtime = runtime
        self.principal = principal
        self.request_id = request_id
        self._before_commit = list(before_commit)
        self._session: AsyncSession | None = None
        self._writing = False
        self._depth = 0
        self._events: list[CloudEvent] = []
        self._bulk = 0
        self._transaction: Any = None

    # --- what a use case reaches --------------------------------------------------------
    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:` or `async with uow.read():`")
        return self._session

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def policy(self) -> Policy:
        return self.runtime.policy

    @property
    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def emit(
        self, event_type: EventType, data: BaseModel | dict[str, Any], *, subject: str | None = None
    ) -> CloudEvent:
        """Write the event to the outbox in this transaction; it is published after commit."""
        if not self._writing:
            raise RuntimeError("events are emitted inside a write transaction (`async with uow:`)")
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        event = await self.runtime.outbox.write(
            self.session,
            event_type,
            payload,
            subject=subject,
            request_id=self.request_id,
            fast=self.runtime.relay.accepting,
        )
        self._events.append(event)
        return event

    async def emit_many(self, events: Sequence[tuple[EventType, dict[str, Any]]]) -> int:
        """Many events in one multi-row INSERT (bulk imports), published by the relay's claiming
        pass after commit rather than one by one on the fast path."""
        if not self._writing:
            raise RuntimeError("events are emitted inside a write transaction (`async with uow:`)")
        count = await self.runtime.outbox.write_many(self.session, events, request_id=self.request_id)
        self._bulk += count
        return count

    async def audit(self, *, action: str, entity_type: str, entity_id: Any, payload: dict[str, Any]) -> str:
        """Append a regulatory act to the hash-chained audit trail, in this transaction, and emit
        the trail's new head (``audittrail.advanced``) through the outbox for its witness: both
        commit, or neither (shared.audit_trail)."""
        if not self._writing:
            raise RuntimeError("the audit trail is written inside a write transaction (`async with uow:`)")
        head = await audit_trail.append(
            self.session,
            self.runtime.infra.audit_trail,
            at=self.now,
            actor=self.principal.actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            payload=payload,
        )
        service = self.runtime.name
        await self.emit(EventType.AUDITTRAIL_ADVANCED, audit_trail.advanced(service, head), subject=service)
        return head.hash

    # --- transactions -------------------------------------------------------------------
    async def __aenter__(self) -> UnitOfWork:
        if self._depth:
            if not self._writing:
                raise RuntimeError("a write cannot join a read-only unit of work")
            self._depth += 1
            return self
        self._transaction = self.runtime.db.transaction()
        self._session = await self._transaction.__aenter__()
        self._writing = True
        self._depth = 1
        self._events, self._bulk = [], 0
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._depth -= 1
        if self._depth:
            return
        transaction = self._transaction
        events, self._events = self._events, []
        bulk, self._bulk = self._bulk, 0
        try:
            if exc is None:
                try:
                    for hook in self._before_commit:
                        await hook(self.session)
                except BaseException as hook_error:
                    await transaction.__aexit__(type(hook_error), hook_error, hook_error.__traceback__)
                    raise
            await transaction.__aexit__(exc_type, exc, tb)
        finally:
            self._session = None
            self._writing = False
        if exc is None:
            if events:
                self.runtime.relay.enqueue(events)
            elif bulk:
                self.runtime.relay.wake()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[UnitOfWork]:
        """A part of the open transaction that can fail alone (SAVEPOINT): on an error its writes
        and the events it emitted are undone, the rest of the transaction stands. The inbox applies
        each event of a batch in one."""
        if not self._writing:
            raise RuntimeError("a savepoint is taken inside a write transaction (`async with uow:`)")
        events, bulk = len(self._events), self._bulk
        try:
            async with self.session.begin_nested():
                yield self
        except BaseException:
            del self._events[events:]
            self._bulk = bulk
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; inside an open unit of work, its own session (consistent reads)."""
        if self._depth:
            yield self.session
            return
        async with self.runtime.db.reader() as session:
            self._session, self._depth = session, 1
            try:
                yield session
            finally:
                self._session, self._depth = None, 0
