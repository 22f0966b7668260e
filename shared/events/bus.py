"""The NATS JetStream connection of one process.

Connects in the background and keeps reconnecting for ever (nats-py gives up after ~2 minutes by
default), ensures the ``CUSTODY`` stream and its dead-letter stream on every (re)connect, and
publishes envelopes with ``Nats-Msg-Id`` = event id, waiting for the JetStream ack.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from shared.settings import Settings

log = structlog.get_logger("shared.bus")
DUPLICATE_WINDOW_SECONDS = 120.0


class BusUnavailable(RuntimeError):
    pass


class Bus:
    def __init__(self, settings: Settings, *, name: str) -> None:
        self.settings = settings
        self.name = name
        self.servers = settings.nats_servers
        self.stream = settings.stream_name
        self.dlq_stream = f"{settings.stream_name}_DLQ"
        self.prefix = settings.subject_prefix
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._reconnect_listeners: list[Callable[[], Awaitable[None]]] = []

    # --- connection ------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_until_done(), name=f"bus-connect-{self.name}")

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    @property
    def connected(self) -> bool:
        return bool(self.nc and self.nc.is_connected and self.ready.is_set())

    async def _connect_until_done(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                self.nc = await nats.connect(
                    servers=self.servers,
                    name=f"custody-{self.name}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    allow_reconnect=True,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
                self.js = self.nc.jetstream(timeout=5)
                await self.ensure_streams()
                self.ready.set()
                log.info("bus.connected", servers=self.servers)
                return
            except Exception as exc:
                log.warning("bus.connect_failed", error=str(exc), retry_in=delay)
                if self.nc is not None and not self.nc.is_closed:
                    await self.nc.close()
                self.nc = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_disconnected(self) -> None:
        log.warning("bus.disconnected")

    async def _on_reconnected(self) -> None:
        log.info(
            "bus.reconnected", server=str(self.nc.connected_url.netloc) if self.nc and self.nc.connected_url else None
        )
        try:
            await self.ensure_streams()
        except Exception as exc:
            log.warning("bus.ensure_streams_failed", error=str(exc))
        for listener in self._reconnect_listeners:
            with contextlib.suppress(Exception):
                await listener()

    def on_reconnected(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after each reconnect (the inbox asks again for the pull requests the
        server forgot)."""
        self._reconnect_listeners.append(listener)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("bus.error", error=str(exc))

    async def ensure_streams(self) -> None:
        assert self.js is not None
        await self._ensure(
            StreamConfig(
                name=self.stream,
                subjects=[f"{self.prefix}.>"],
                storage=StorageType.FILE,
                num_replicas=self.settings.stream_replicas,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
                max_age=self.settings.stream_max_age_days * 86400,
            )
        )
        await self._ensure(  # dead letters are kept: no age limit
            StreamConfig(
                name=self.dlq_stream,
                subjects=[f"{self.prefix}_dlq.>"],
                storage=StorageType.FILE,
                num_replicas=self.settings.stream_replicas,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
        )

    async def _ensure(self, config: StreamConfig) -> None:
        assert self.js is not None
        assert config.name is not None
        try:
            info = await self.js.stream_info(config.name)
        except NotFoundError:
            with contextlib.suppress(BadRequestError):  # created concurrently by another process
                await self.js.add_stream(config)
            return
        if config.max_age and info.config.max_age != config.max_age:  # the setting changed since
            with contextlib.suppress(BadRequestError):
                await self.js.update_stream(replace(info.config, max_age=config.max_age))

    async def close(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 2)
            except Exception:
                await self.nc.close()
        self.ready.clear()

    # --- publishing -------------------------------------------------------------------------
    def subject_for(self, event_type: str) -> str:
        return f"{self.prefix}.{event_type}"

    async def publish(self, event: CloudEvent, *, timeout: float = 5.0) -> None:
        await self.publish_raw(
            self.subject_for(event.type),
            event.to_json(),
            msg_id=event.id,
            timeout=timeout,
            headers={"Content-Type": CLOUDEVENTS_CONTENT_TYPE},
        )

    async def publish_raw(
        self, subject: str, payload: bytes, *, msg_id: str, timeout: float = 5.0, headers: dict[str, str] | None = None
    ) -> None:
        if not self.connected or self.js is None:
            raise BusUnavailable("NATS is not connected")
        await self.js.publish(subject, payload, timeout=timeout, headers={"Nats-Msg-Id": msg_id, **(headers or {})})
