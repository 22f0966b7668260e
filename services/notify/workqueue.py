"""The notify work queue on JetStream: pending webhook deliveries and e-mails, with their retry
schedule, live here and not in a table.

One stream per deployment, named after the bus stream (``<stream>_NOTIFY``, subjects
``<prefix>_notify.>``), with work-queue retention: a message is removed when it is acknowledged.
A webhook job is one message per (subscription, event) on ``<prefix>_notify.webhook.<subscription>``,
an e-mail one on ``<prefix>_notify.email``; ``Nats-Msg-Id`` makes a republished job (a redelivered
event, a retried transaction) a duplicate JetStream drops. Replicas pull from one durable consumer
per kind and so share the work; a retry is a ``nak`` with a delay; a restart loses nothing (what
was not acknowledged is delivered again).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import datetime
from typing import Any

import orjson
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.backoff import until_done
from shared.events.bus import DUPLICATE_WINDOW_SECONDS, Bus

log = structlog.get_logger("notify.workqueue")

WEBHOOK = "webhook"
EMAIL = "email"
ACK_WAIT_SECONDS = 60.0  # above one attempt's timeout; a worker that dies gives its jobs back then


def stream_name(bus: Bus) -> str:
    return f"{bus.stream}_NOTIFY"


def prefix(bus: Bus) -> str:
    return f"{bus.prefix}_notify"


def webhook_subject(bus: Bus, subscription_id: Any) -> str:
    return f"{prefix(bus)}.{WEBHOOK}.{subscription_id}"


def email_subject(bus: Bus) -> str:
    return f"{prefix(bus)}.{EMAIL}"


def webhook_job(
    subscription_id: Any, envelope: dict[str, Any], *, at: datetime, manual: bool = False
) -> dict[str, Any]:
    """A delivery job: the subscription, the CloudEvent, when it was queued (the retry horizon
    counts from then) and whether an owner asked for it (a manual retry)."""
    return {"subscription_id": str(subscription_id), "event": envelope, "queued_at": at.isoformat(), "manual": manual}


async def ensure_stream(bus: Bus) -> None:
    assert bus.js is not None
    config = StreamConfig(
        name=stream_name(bus),
        subjects=[f"{prefix(bus)}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        num_replicas=bus.settings.stream_replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await bus.js.stream_info(stream_name(bus))
    except NotFoundError:
        with contextlib.suppress(BadRequestError):  # created concurrently by another replica
            await bus.js.add_stream(config)


async def publish(bus: Bus, subject: str, job: dict[str, Any], *, msg_id: str) -> None:
    """Put one job on the queue (waiting for JetStream's ack); the stream is made on first use."""
    payload = orjson.dumps(job)
    try:
        await bus.publish_raw(subject, payload, msg_id=msg_id)
    except Exception as exc:
        if "no response" not in str(exc).lower() and "no stream" not in str(exc).lower():
            raise
        await ensure_stream(bus)
        await bus.publish_raw(subject, payload, msg_id=msg_id)


async def pull(bus: Bus, *, durable: str, kind: str) -> Any:
    """The pull subscription of one kind of job (made on first use; replicas share it)."""
    assert bus.js is not None
    await ensure_stream(bus)
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=f"{prefix(bus)}.{kind}" + (".>" if kind == WEBHOOK else ""),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_SECONDS,
        max_deliver=-1,
        max_ack_pending=10_000,
    )
    with contextlib.suppress(BadRequestError):
        await bus.js.add_consumer(stream_name(bus), config=config)
    return await bus.js.pull_subscribe_bind(durable=durable, stream=stream_name(bus))


class Worker:
    """Pulls one kind of job and handles up to ``concurrency`` at once; keeps pulling through NATS
    outages (subscribing again, backing off). ``handle`` acks, naks or terminates each message;
    one that raises is given back for another try after a short delay."""

    durable = ""
    kind = ""
    # A long poll (a job arrives at once), short enough for a stop to wait for it: a pull left
    # open at the server would take the next job to a replica that is gone, and it would come
    # back only after ACK_WAIT_SECONDS.
    FETCH_WAIT = 1.0

    def __init__(self, runtime: Any, *, concurrency: int) -> None:
        self.runtime = runtime
        self.bus: Bus = runtime.bus
        self.concurrency = max(1, concurrency)
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"notify-{self.kind}-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop pulling (the pull in progress ends within FETCH_WAIT and what it brought goes back
        to the queue), let the jobs at hand finish for ``grace`` seconds, give back the rest."""
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, self.FETCH_WAIT + 2.0)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:  # their messages go back to the queue (nak in _guarded)
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    async def handle(self, msg: Any) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        while not self._stopping:
            if not self.bus.ready.is_set():
                await asyncio.sleep(0.2)
                continue
            try:
                sub = await until_done(
                    lambda: pull(self.bus, durable=self.durable, kind=self.kind),
                    first=0.2,
                    cap=5.0,
                    event="notify.queue_subscription_failed",
                    should_stop=lambda: self._stopping or not self.bus.ready.is_set(),
                    kind=self.kind,
                )
                await self._consume(sub)
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except Exception as exc:  # the subscription broke (NATS restarted): start over
                log.warning("notify.queue_subscription_lost", kind=self.kind, error=str(exc)[:300])
                await asyncio.sleep(0.2)

    async def _consume(self, sub: Any) -> None:
        try:
            while not self._stopping:
                free = self.concurrency - len(self._tasks)
                if free <= 0:
                    await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    # One job per pull: it returns the moment a job is there (nats-py's batch pull
                    # goes on waiting for the rest of its batch until the poll ends).
                    msgs = await sub.fetch(batch=1, timeout=self.FETCH_WAIT)
                except TimeoutError:
                    continue
                if self._stopping:
                    for msg in msgs:
                        with contextlib.suppress(Exception):
                            await msg.nak()
                    return
                for msg in msgs:
                    task = asyncio.create_task(self._guarded(msg))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _guarded(self, msg: Any) -> None:
        try:
            await self.handle(msg)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()
            raise
        except Exception as exc:
            log.warning("notify.job_failed", kind=self.kind, error=str(exc)[:300])
            with contextlib.suppress(Exception):
                await msg.nak(delay=1.0 + random.random())
