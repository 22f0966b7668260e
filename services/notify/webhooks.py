"""Webhook deliveries (Standard Webhooks): signing, and the worker that makes each attempt.

A job (one per subscription and event, workqueue.py) is attempted by whichever replica pulls it:
the body is the CloudEvent JSON, signed with the subscription's secret by the ``standardwebhooks``
package — headers ``webhook-id`` (the event id: stable across retries, so a receiver can drop
duplicates), ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">``). 2xx is delivered; anything else, a timeout (10 s) or a refused
address is a failed attempt, retried by ``nak`` with exponential backoff and jitter from
``webhook_retry_first_seconds`` up to ``webhook_retry_cap_seconds`` until
``webhook_retry_horizon_seconds`` (24 h) after the job was queued; then the subscription is
``failing``. Every attempt is recorded (service.record_attempt).

Concurrency: at most ``webhook_concurrency`` attempts in all, at most
``webhook_concurrency_per_subscription`` for one subscription; a few more of its jobs may wait
for it, the rest go back to the queue for a second — one slow receiver cannot take the slots of
the others.
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from standardwebhooks.webhooks import Webhook

from services.notify import service, ssrf, workqueue
from services.notify.models import SubscriptionStatus
from shared.backoff import delay_for
from shared.clock import as_utc

log = structlog.get_logger("notify.webhooks")
WAITING_PER_SUBSCRIPTION = 4  # × the per-subscription concurrency: jobs that may wait their turn
USER_AGENT = "custody-notify/1.0 (Standard Webhooks)"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(secret: str, *, msg_id: str, body: bytes, at: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at.astimezone(UTC), data=body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class WebhookWorker(workqueue.Worker):
    durable = "notify_webhooks"
    kind = workqueue.WEBHOOK

    def __init__(self, runtime: Any) -> None:
        settings = runtime.settings
        super().__init__(runtime, concurrency=settings.webhook_concurrency)
        self.per_subscription = max(1, settings.webhook_concurrency_per_subscription)
        self._gates: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(self.per_subscription))
        self._queued: defaultdict[str, int] = defaultdict(int)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.webhook_timeout_seconds), follow_redirects=False, trust_env=False
        )

    async def stop(self, grace: float = 5.0) -> None:
        await super().stop(grace)
        await self._client.aclose()

    async def handle(self, msg: Any) -> None:
        job = orjson.loads(msg.data)
        key = str(job.get("subscription_id"))
        if self._queued[key] >= self.per_subscription * (1 + WAITING_PER_SUBSCRIPTION):
            await msg.nak(delay=1.0 + random.random())  # its receiver is busy: not an attempt
            return
        self._queued[key] += 1
        try:
            async with self._gates[key]:
                await self.attempt(msg, job)
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:
                self._queued.pop(key, None)
                self._gates.pop(key, None)

    async def attempt(self, msg: Any, job: dict[str, Any]) -> None:
        settings = self.runtime.settings
        try:
            subscription_id = uuid.UUID(str(job["subscription_id"]))
            envelope = dict(job["event"])
            event_id = str(envelope["id"])
        except (KeyError, ValueError, TypeError):
            log.error("notify.webhook_job_malformed")
            await msg.term()
            return
        subscription = await service.subscription_for_delivery(self.runtime, subscription_id)
        if subscription is None:  # deleted since: nothing to deliver
            await msg.ack()
            return
        body = orjson.dumps(envelope)
        at = self.runtime.clock.now()
        status_code, error = None, None
        try:
            await ssrf.check(subscription.url, settings)
            headers = signed_headers(subscription.secret, msg_id=event_id, body=body, at=at)
            response = await self._client.post(subscription.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except ssrf.Refused as refused:
            error = f"refused: {refused.reason.en}"
        except httpx.TimeoutException:
            error = f"no answer within {settings.webhook_timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        delivered = error is None
        queued_at = _queued_at(job, msg)
        outlived = at - queued_at >= timedelta(seconds=settings.webhook_retry_horizon_seconds)
        # A failing subscription gets one attempt per job, and a manual retry one attempt.
        give_up = not delivered and (outlived or subscription.status == SubscriptionStatus.FAILING)
        attempt = await service.record_attempt(
            self.runtime,
            subscription_id=subscription_id,
            envelope=envelope,
            at=at,
            status_code=status_code,
            error=error,
            delay=None if delivered or give_up else self.retry_delay,
            give_up=give_up and outlived,
        )
        if attempt is None or delivered:  # deleted while we were trying
            await msg.ack()
        elif give_up:
            await msg.term()
        else:
            await msg.nak(delay=attempt.delay)
        log.info(
            "notify.webhook_attempt",
            subscription=str(subscription_id),
            event_id=event_id,
            status_code=status_code,
            error=error,
        )

    def retry_delay(self, attempt: int) -> float:
        settings = self.runtime.settings
        base = delay_for(attempt, first=settings.webhook_retry_first_seconds, cap=settings.webhook_retry_cap_seconds)
        return base * (1 + random.random() / 4)  # jitter: replicas failing together do not retry together


def _queued_at(job: dict[str, Any], msg: Any) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(str(job["queued_at"])))
    except (KeyError, ValueError):
        stamp = msg.metadata.timestamp if msg.metadata else None
        return as_utc(stamp) if stamp else datetime.now(UTC)
