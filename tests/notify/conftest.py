"""Fixtures of the notify tests: the service on a test backend (its work-queue stream removed
afterwards), a real HTTP receiver for webhooks and a real SMTP server (aiosmtpd) for e-mail."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import nats
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from devtools.natsserver import free_port


async def delete_stream(nats_url: str, name: str) -> None:
    with contextlib.suppress(Exception):
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
        try:
            await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()


@pytest.fixture
async def env(backend):
    """The backend, and the notify work-queue stream of its settings deleted at the end."""
    yield backend
    await delete_stream(backend.nats_url, f"T{backend.tag.upper()}_NOTIFY")


# --- a real webhook receiver ------------------------------------------------------------------
@dataclass
class Receiver:
    """Answers ``statuses`` in turn (then 204), after ``delay`` seconds; records every request."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"headers": dict(request.headers), "body": body, "path": request.path})
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 204
        if status in (301, 302, 307):
            return web.Response(status=status, headers={"Location": "http://127.0.0.1:1/elsewhere"})
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    receiver.port = receiver.port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", receiver.port)
    await site.start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


# --- a real SMTP server -----------------------------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()
