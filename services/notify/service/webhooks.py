"""Webhook subscriptions and their delivery log (SPEC §15).

Owners: an organisation's account, a bureau account, admin (repository.may_own). The secret is
answered once, at creation. Deliveries are jobs on the work queue (workqueue.py); the worker
(webhooks.py) makes the attempts and records each one here (``record_attempt``), in one
transaction with the subscription's state: failing after the retry horizon, active again after
a delivery succeeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify import ssrf, workqueue
from services.notify.models import Delivery, Subscription
from services.notify.repository import Deliveries, Subscriptions, may_own
from services.notify.schemas import WebhookCreate
from services.notify.states import FAIL, RECOVER, SUBSCRIPTION
from shared.errors import ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.roles import Role
from shared.uow import UnitOfWork


async def create(uow: UnitOfWork, *, body: WebhookCreate, secret: str) -> Subscription:
    if not may_own(uow.principal):
        raise Forbidden(code=ErrorCode.WEBHOOK_OWNER_REQUIRED)
    try:
        await ssrf.check(body.url, uow.runtime.settings)
    except ssrf.Refused as refused:
        raise ValidationFailed(code=ErrorCode.WEBHOOK_URL_REFUSED, errors=[FieldError("url", refused.reason)]) from None
    async with uow:
        row = Subscriptions(uow.session).new(
            uow.principal,
            url=body.url,
            events=sorted(set(body.events)),
            description=body.description,
            secret=secret,
            at=uow.now,
        )
        await uow.session.flush()
    return row


async def listing(uow: UnitOfWork, *, params: PageParams) -> tuple[list[Subscription], str | None]:
    async with uow.read() as session:
        return await Subscriptions(session).page(uow.principal, params)


async def get(uow: UnitOfWork, *, subscription_id: uuid.UUID) -> Subscription:
    async with uow.read() as session:
        return await Subscriptions(session).get(subscription_id, uow.principal)


async def delete(uow: UnitOfWork, *, subscription_id: uuid.UUID) -> None:
    async with uow:
        subscriptions = Subscriptions(uow.session)
        row = await subscriptions.get(subscription_id, uow.principal, write=True)
        await subscriptions.delete(row)


async def deliveries(
    uow: UnitOfWork, *, subscription_id: uuid.UUID, params: PageParams
) -> tuple[list[Delivery], str | None]:
    async with uow.read() as session:
        await Subscriptions(session).get(subscription_id, uow.principal)
        return await Deliveries(session).page(subscription_id, params)


async def retry(uow: UnitOfWork, *, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    """Queue the delivery's event again for the subscription (one more attempt, at once)."""
    async with uow.read() as session:
        subscription = await Subscriptions(session).get(subscription_id, uow.principal, write=True, lock=False)
        delivery = await Deliveries(session).get(subscription.id, delivery_id)
    if delivery is None:
        raise NotFound(text("投递记录不存在", "No such delivery"))
    bus = uow.runtime.bus
    job = workqueue.webhook_job(subscription.id, delivery.envelope, at=uow.now, manual=True)
    await workqueue.publish(bus, workqueue.webhook_subject(bus, subscription.id), job, msg_id=f"retry:{new_id()}")
    return delivery


# --- what the delivery worker records ---------------------------------------------------------
async def subscription_for_delivery(runtime: Any, subscription_id: uuid.UUID) -> Subscription | None:
    async with runtime.unit_of_work().read() as session:
        return await Subscriptions(session).find(subscription_id)


@dataclass(frozen=True)
class Attempt:
    number: int
    delay: float | None


async def record_attempt(
    runtime: Any,
    *,
    subscription_id: uuid.UUID,
    envelope: dict[str, Any],
    at: datetime,
    status_code: int | None,
    error: str | None,
    delay: Callable[[int], float] | None,
    give_up: bool,
) -> Attempt | None:
    """Record one attempt; ``delay(attempt)`` gives the wait before the next one (None: no
    retry). ``give_up``: the retry horizon has passed — the subscription becomes failing. None
    when the subscription was deleted meanwhile."""
    uow = runtime.unit_of_work()
    async with uow:
        subscriptions = Subscriptions(uow.session)
        subscription = await subscriptions.find(subscription_id, lock=True)
        if subscription is None:
            return None
        log = Deliveries(uow.session)
        number = await log.attempts_so_far(subscription_id, str(envelope["id"])) + 1
        wait = delay(number) if delay is not None else None
        log.add(
            Delivery(
                id=new_id(),
                subscription_id=subscription_id,
                event_id=str(envelope["id"]),
                event_type=str(envelope.get("type", "")),
                attempt=number,
                status_code=status_code,
                error=error,
                at=at,
                next_attempt_at=at + timedelta(seconds=wait) if wait is not None else None,
                envelope=envelope,
            )
        )
        action = RECOVER if error is None else FAIL if give_up else None
        if action is not None and SUBSCRIPTION.can(action, subscription.status):
            step = SUBSCRIPTION.step(action, subscription.status, Role.SYSTEM)
            subscription.status = step.target
            subscription.version += 1
            subscription.updated_at = at
    return Attempt(number, wait)
