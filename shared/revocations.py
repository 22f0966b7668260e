"""What every process knows about revoked access tokens, learnt from the bus.

Access tokens are self-contained JWTs (SPEC §2: every service verifies them itself), so a service
reached directly — not through the gateway — can only refuse a revoked token if it is told. The
gateway publishes ``token.revoked`` events (an account disabled or removed from its organisation,
a client deleted, an organisation suspended or reassigned, a revoked ``jti``); every process keeps
them in a ``Revocations`` set that ``shared.auth.TokenVerifier`` consults on every request (also
for tokens it has cached).

The feed is an **ephemeral** JetStream consumer per process (not the service's durable one: every
replica must see every revocation). On start it replays the last ``REPLAY_SECONDS`` — the longest
an access token lives, plus leeway — so a restarted process forgets nothing that still matters:
an entry older than that can only concern tokens that have expired anyway. ``key.*`` events
(signing key rotated or revoked) are handed to a callback: the verifier refetches the JWKS.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from shared.events.envelope import CloudEvent

log = structlog.get_logger("shared.revocations")

MAX_TOKEN_LIFETIME = 900  # seconds: SPEC §6, access tokens live at most 15 minutes
LEEWAY = 60
REPLAY_SECONDS = MAX_TOKEN_LIFETIME + LEEWAY
MAX_ENTRIES = 200_000
REVOKED_TYPE = "token.revoked"
KEY_TYPES = ("key.rotated", "key.revoked")


class Revocations:
    """Cut-offs per subject and per client (tokens issued before them are revoked) and revoked
    ``jti``s, each remembered only as long as a token it concerns can still be alive."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.subjects: dict[str, tuple[float, float]] = {}  # sub -> (not_before, forget_at)
        self.clients: dict[str, tuple[float, float]] = {}
        self.jtis: dict[str, float] = {}  # jti -> forget_at (the token's exp)
        self.version = 0  # bumped on every change (cheap change detection for caches)

    def add(
        self,
        *,
        subjects: Iterable[str] = (),
        clients: Iterable[str] = (),
        jtis: Iterable[str] = (),
        not_before: float | None = None,
        until: float | None = None,
    ) -> None:
        now = self.now()
        cutoff = float(not_before if not_before is not None else now)
        forget = cutoff + REPLAY_SECONDS
        for table, keys in ((self.subjects, subjects), (self.clients, clients)):
            for key in keys:
                if not isinstance(key, str) or not key:
                    continue
                previous = table.get(key)
                if previous is None or previous[0] < cutoff:
                    table[key] = (cutoff, forget)
        jti_until = float(until if until is not None else now + REPLAY_SECONDS)
        for jti in jtis:
            if isinstance(jti, str) and jti:
                self.jtis[jti] = max(self.jtis.get(jti, 0.0), jti_until)
        self.version += 1
        if len(self.subjects) + len(self.clients) + len(self.jtis) > MAX_ENTRIES:
            self.purge()

    def apply(self, data: dict[str, Any]) -> None:
        """A ``token.revoked`` event's data (shared.events.catalog.TokensRevoked)."""

        def strings(name: str) -> list[str]:
            value = data.get(name) or []
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        not_before = data.get("not_before")
        until = data.get("until")
        self.add(
            subjects=strings("subjects"),
            clients=strings("clients"),
            jtis=strings("jtis"),
            not_before=float(not_before) if isinstance(not_before, (int, float)) else None,
            until=float(until) if isinstance(until, (int, float)) else None,
        )

    def is_revoked(self, *, subject: str | None, client_id: str | None, jti: str | None, iat: float | None) -> bool:
        if jti is not None and jti in self.jtis:
            return True
        issued = iat if iat is not None else 0.0
        for table, key in ((self.subjects, subject), (self.clients, client_id)):
            if key is None:
                continue
            entry = table.get(key)
            if entry is not None and issued < entry[0]:
                return True
        return False

    def purge(self) -> None:
        now = self.now()
        for table in (self.subjects, self.clients):
            for key in [k for k, (_, forget) in table.items() if forget < now]:
                del table[key]
        for key in [k for k, forget in self.jtis.items() if forget < now]:
            del self.jtis[key]


class RevocationFeed:
    """An ephemeral JetStream consumer over ``token.revoked`` and ``key.*`` for this process.

    ``synced`` is set once the replay of the last ``REPLAY_SECONDS`` has been read. When NATS goes
    away the consumer is made again from the last stream sequence seen, so nothing is skipped."""

    def __init__(
        self,
        bus: Any,
        revocations: Revocations,
        *,
        on_key_event: Callable[[CloudEvent], Awaitable[None]] | None = None,
        replay_seconds: float = REPLAY_SECONDS,
    ) -> None:
        self.bus = bus
        self.revocations = revocations
        self.on_key_event = on_key_event
        self.replay_seconds = replay_seconds
        self.synced = asyncio.Event()
        self._last_seq: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.applied_total = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"revocation-feed-{self.bus.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def wait_synced(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.synced.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def _config(self) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        subjects = [self.bus.subject_for(REVOKED_TYPE), *(self.bus.subject_for(t) for t in KEY_TYPES)]
        common: dict[str, Any] = {
            "ack_policy": AckPolicy.NONE,
            "filter_subjects": subjects,
            "inactive_threshold": 60.0,
            "mem_storage": True,
            "num_replicas": 1,
        }
        if self._last_seq is not None:
            return ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._last_seq + 1, **common
            )
        start = datetime.now(UTC) - timedelta(seconds=self.replay_seconds)
        return ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start, **common)

    async def _run(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                if not self.bus.ready.is_set():
                    await asyncio.sleep(0.1)
                    continue
                js = self.bus.js
                info = await js.add_consumer(self.bus.stream, config=self._config())
                sub = await js.pull_subscribe_bind(consumer=info.name, stream=self.bus.stream)
                delay = 0.2
                if not info.num_pending:
                    self.synced.set()  # nothing to replay
                try:
                    while not self._stopping:
                        try:
                            msgs = await sub.fetch(batch=200, timeout=1.0)
                        except TimeoutError:
                            self.synced.set()  # nothing (more) to replay
                            self.revocations.purge()
                            continue
                        for msg in msgs:
                            await self._handle(msg)
                        if msgs and msgs[-1].metadata is not None and msgs[-1].metadata.num_pending == 0:
                            self.synced.set()
                finally:
                    try:
                        await sub.unsubscribe()
                        await js.delete_consumer(self.bus.stream, info.name)
                    except Exception:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("revocations.feed_failed", error=str(exc) or type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _handle(self, msg: Any) -> None:
        if msg.metadata is not None and msg.metadata.sequence is not None:
            self._last_seq = msg.metadata.sequence.stream
        try:
            event = CloudEvent.from_json(msg.data)
        except Exception:
            log.warning("revocations.unparseable_event")
            return
        if event.type == REVOKED_TYPE:
            self.revocations.apply(event.data)
            self.applied_total += 1
        elif event.type in KEY_TYPES and self.on_key_event is not None:
            try:
                await self.on_key_event(event)
            except Exception as exc:
                log.warning("revocations.key_event_failed", error=str(exc))
