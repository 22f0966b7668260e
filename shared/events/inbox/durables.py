"""One durable pull consumer per event family of a service, and the upgrade from the single
per-service durable of before (docs/DECISIONS.md D59).

An idle consumer waits on the bus: one lingering pull of ``IDLE_WAIT`` seconds for the first
message (a reconnect interrupts it, since the server forgets pull requests it held), then takes
what the message's metadata says is pending, up to ``FETCH_BATCH``, at once — so a burst is
applied in batches and a single event is not held back waiting for a batch to fill.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError

from shared.backoff import until_done
from shared.events.outbox import stop_gracefully

if TYPE_CHECKING:
    from shared.events.inbox.subscriber import Subscriber

log = structlog.get_logger("shared.inbox")

IDLE_WAIT = 30.0  # an idle consumer's one pull request waits this long on the bus
FETCH_BATCH = 100  # at most this many events in one fetch, applied in one transaction
DRAIN_WAIT = 1.0  # the no-wait pull for messages already pending answers at once; a bound only


class FamilyConsumer:
    """The durable consumer of one event family: fetch, apply the batch (the subscriber), ack."""

    def __init__(
        self, subscriber: Subscriber, *, family: str, members: set[str], durable: str, patterns: list[str]
    ) -> None:
        self.subscriber = subscriber
        self.family = family  # the durable's key: a family, or ``events`` for the ones not separated
        self.members = members
        self.durable = durable
        self.patterns = patterns
        self._task: asyncio.Task[None] | None = None
        self._waiting: asyncio.Future[Any] | None = None
        self._stopping = False
        self._sub: Any = None

    @property
    def filter_subjects(self) -> list[str]:
        """The subjects of the family's patterns; a server before 2.10 takes one filter only (it
        ignores ``filter_subjects``), so there the family's wildcard (every subject for a durable
        of several families), and what the service has no handler for is acknowledged unapplied."""
        bus = self.subscriber.bus
        exact = sorted({bus.subject_for(p) for p in self.patterns})
        if len(exact) == 1 or _takes_many_filters(bus):
            return exact
        if len(self.members) == 1:
            return [bus.subject_for(f"{next(iter(self.members))}.>")]
        return [bus.subject_for(">")]

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.durable}")

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
        self.interrupt_wait()

    def interrupt_wait(self) -> None:
        """End an idle wait (stopping; the bus reconnected and the server forgot the pull)."""
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()  # waiting for messages is a safe point: nothing half-done

    def config(self, deliver: DeliverPolicy = DeliverPolicy.ALL, start_seq: int | None = None) -> ConsumerConfig:
        sub = self.subscriber
        filters = self.filter_subjects
        return ConsumerConfig(
            durable_name=self.durable,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=deliver,
            opt_start_seq=start_seq,
            max_deliver=sub.max_deliver,
            ack_wait=sub.ack_wait,
            max_ack_pending=1000,
        )

    async def _subscribe(self) -> Any:
        await self.subscriber.ensure_durables()
        js = self.subscriber.bus.js
        assert js is not None
        return await js.pull_subscribe_bind(durable=self.durable, stream=self.subscriber.bus.stream)

    async def run(self) -> None:
        bus = self.subscriber.bus
        while not self._stopping:
            if not bus.ready.is_set():
                await asyncio.sleep(0.2)
                continue
            try:
                # NATS down or the consumer gone: subscribe again, backing off.
                sub = await until_done(
                    self._subscribe,
                    first=0.2,
                    cap=5.0,
                    event="inbox.subscription_failed",
                    should_stop=lambda: self._stopping or not bus.ready.is_set(),
                    durable=self.durable,
                )
                await self._consume(sub)
            except Exception as exc:  # the subscription broke: start over
                log.warning("inbox.subscription_lost", durable=self.durable, error=str(exc)[:300])
                self.subscriber.forget_durables()
                await asyncio.sleep(0.2)

    async def _consume(self, sub: Any) -> None:
        self._sub = sub
        while not self._stopping:
            msgs = await self._next_batch(sub)
            if msgs:
                await self.subscriber.process_batch(msgs, durable=self.durable, families=self.members)

    async def _next_batch(self, sub: Any) -> list[Any]:
        """Wait on the bus for one message (one pull, ``IDLE_WAIT``), then take at once what is
        pending behind it, so that a burst is applied in batches of ``FETCH_BATCH``."""
        self._waiting = asyncio.ensure_future(sub.fetch(batch=1, timeout=IDLE_WAIT))
        try:
            first = await self._waiting
        except (TimeoutError, asyncio.CancelledError):
            if self._task is not None and self._task.cancelling():
                raise  # the task itself is cancelled, not only the wait
            return []
        finally:
            self._waiting = None
        msgs = list(first)
        pending = msgs[-1].metadata.num_pending if msgs and msgs[-1].metadata else 0
        if pending:
            with contextlib.suppress(TimeoutError):
                msgs += await sub.fetch(batch=min(pending, FETCH_BATCH - len(msgs)), timeout=DRAIN_WAIT)
        return msgs


async def legacy_start(js: Any, stream: str, legacy: str) -> int | None:
    """Where the durables of an upgraded service start: after the old per-service durable's ack
    floor (every event up to it is applied; the ones acknowledged beyond it come again and the
    inbox skips them). None when there is no old durable."""
    try:
        info = await js.consumer_info(stream, legacy)
    except NotFoundError:
        return None
    floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
    return int(floor or 0) + 1


async def ensure(js: Any, stream: str, consumers: list[FamilyConsumer], legacy: str) -> None:
    """Create the missing family durables (from the old durable's ack floor on an upgrade), keep
    the filters of existing ones in step with the code, then delete the old durable."""
    start: int | None = None
    started = False
    for consumer in consumers:
        try:
            info = await js.consumer_info(stream, consumer.durable)
        except NotFoundError:
            if not started:
                start, started = await legacy_start(js, stream, legacy), True
            config = consumer.config(DeliverPolicy.BY_START_SEQUENCE, start) if start is not None else consumer.config()
            with contextlib.suppress(BadRequestError):  # created meanwhile by another replica
                await js.add_consumer(stream, config=config)
                log.info("inbox.durable_created", durable=consumer.durable, start_seq=start)
            continue
        if _filters(info.config) != consumer.filter_subjects:
            # a type added to the family: the durable keeps its position, the new type is read from
            # there on (a create with the same name and an edited filter is an update)
            log.info("inbox.durable_filters_updated", durable=consumer.durable, filters=consumer.filter_subjects)
            with contextlib.suppress(BadRequestError):
                await js.add_consumer(
                    stream, config=consumer.config(info.config.deliver_policy, info.config.opt_start_seq)
                )
    if consumers:  # every family durable exists now: the old one has no further use
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(stream, legacy)
            log.info("inbox.legacy_durable_deleted", durable=legacy, families=[c.durable for c in consumers])


def _filters(config: ConsumerConfig) -> list[str]:
    return sorted(config.filter_subjects or ([config.filter_subject] if config.filter_subject else []))


def _takes_many_filters(bus: Any) -> bool:
    version = bus.nc.connected_server_version if bus.nc is not None else None
    return version is None or (version.major, version.minor) >= (2, 10)
