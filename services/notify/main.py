"""The notify service (SPEC §15): app factory (`uvicorn services.notify.main:create_app --factory`).

Besides the template's parts (inbox consumer, outbox, sweeps, metrics, health), notify runs two
workers on its JetStream work queue: webhook deliveries and e-mails (workqueue.py). They start
after the service and stop before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.notify.api import inbox, webhooks
from services.notify.consumers import CONSUMERS
from services.notify.mail import EmailWorker
from services.notify.models import metadata
from services.notify.sweeps import SWEEPS
from services.notify.webhooks import WebhookWorker
from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

DESCRIPTION = "通知：站内信、回调（Standard Webhooks）、邮件、提醒 / notifications: inbox, webhooks, e-mail, reminders"

SERVICE = ServiceSpec(
    name="notify",
    metadata=metadata,
    routers=[inbox, webhooks],
    consumers=CONSUMERS,
    sweeps=SWEEPS,
    description=DESCRIPTION,
)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    app = create_service_app(SERVICE, settings or Settings(), clock=clock, verifier=verifier)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with service_lifespan(application) as state:
            runtime = application.state.runtime
            workers = [WebhookWorker(runtime), EmailWorker(runtime, concurrency=4)]
            for worker in workers:
                worker.start()
            application.state.workers = workers
            try:
                yield state
            finally:
                for worker in reversed(workers):
                    await worker.stop()

    app.router.lifespan_context = lifespan
    return app
