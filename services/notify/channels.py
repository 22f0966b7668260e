"""The channels a notice goes out on, behind one small interface.

A ``Notice`` is what to say (both languages), about what, and how urgent; an ``Audience``
(rules.py) is whom it concerns. Each ``Channel`` delivers a notice to an audience inside the unit
of work that handles the event or the reminder:

- ``InboxChannel`` writes one inbox item per recipient account (the accounts the audience covers
  now; unique per account and notice key, so it happens once);
- ``EmailChannel`` queues an e-mail at once for each new urgent item whose reader has an address
  (the rest go out in the daily digest, sweeps.py) — only when SMTP is configured;
- ``WebhookChannel`` queues one delivery per subscription whose owner the audience covers.

Queued means a job on the JetStream work queue (workqueue.py), published before the transaction
commits with a deterministic ``Nats-Msg-Id``: if the commit fails the event is handled again and
the job is a duplicate the stream drops. SMS (not reachable from this deployment) is one more
channel of the same shape — an ``SmsChannel`` queueing ``sms`` jobs and a worker with an SMS
gateway adapter (docs/DECISIONS.md).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.notify import mail, workqueue
from services.notify.models import Account
from services.notify.repository import InboxItems, Recipients
from services.notify.rules import Audience
from shared.events.envelope import CloudEvent
from shared.i18n import Text
from shared.ids import new_id
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Notice:
    kind: str
    urgent: bool
    title: Text
    body: Text
    link: str | None
    subject_id: str | None
    due_at: datetime | None
    key: str  # an event id or a reminder key: one inbox item per recipient and key
    event: CloudEvent | None = None  # what webhooks deliver (reminders have none)


@dataclass
class Sent:
    """What the channels did with one notice (later channels build on earlier ones)."""

    accounts: list[Account] = field(default_factory=list)
    items: dict[str, uuid.UUID] = field(default_factory=dict)  # account id -> new inbox item id
    emails: int = 0
    webhooks: int = 0


class Channel(Protocol):
    name: str

    async def deliver(self, uow: UnitOfWork, notice: Notice, audience: Audience, sent: Sent) -> None: ...


class InboxChannel:
    name = "inbox"

    async def deliver(self, uow: UnitOfWork, notice: Notice, audience: Audience, sent: Sent) -> None:
        sent.accounts = await Recipients(uow.session).accounts(audience)
        rows = [
            {
                "id": new_id(),
                "account_id": account.id,
                "kind": notice.kind,
                "urgent": notice.urgent,
                "title_zh": notice.title.zh[:300],
                "title_en": notice.title.en[:300],
                "body_zh": notice.body.zh,
                "body_en": notice.body.en,
                "link": notice.link,
                "subject_id": notice.subject_id,
                "source_key": notice.key,
                "created_at": uow.now,
                "due_at": notice.due_at,
            }
            for account in sent.accounts
        ]
        sent.items = await InboxItems(uow.session).add(rows)


class EmailChannel:
    name = "email"

    async def deliver(self, uow: UnitOfWork, notice: Notice, audience: Audience, sent: Sent) -> None:
        if not notice.urgent or not uow.runtime.settings.smtp_url:
            return
        bus = uow.runtime.bus
        items = InboxItems(uow.session)
        for account in sent.accounts:
            item_id = sent.items.get(account.id)
            if item_id is None or not account.email:
                continue
            subject, body = mail.compose_one(notice, account.language)
            job = {"to": account.email, "subject": subject, "body": body, "item_ids": [str(item_id)]}
            await workqueue.publish(bus, workqueue.email_subject(bus), job, msg_id=f"email:{notice.key}:{account.id}")
            await items.mark_emailed([item_id], uow.now)  # not in a digest as well
            sent.emails += 1


class WebhookChannel:
    name = "webhook"

    async def deliver(self, uow: UnitOfWork, notice: Notice, audience: Audience, sent: Sent) -> None:
        if notice.event is None:
            return
        bus = uow.runtime.bus
        envelope = notice.event.model_dump(mode="json", exclude_none=True)
        subscriptions = await Recipients(uow.session).subscriptions(audience, notice.event.type)
        await asyncio.gather(
            *(
                workqueue.publish(
                    bus,
                    workqueue.webhook_subject(bus, subscription.id),
                    workqueue.webhook_job(subscription.id, envelope, at=uow.now),
                    msg_id=f"webhook:{subscription.id}:{notice.event.id}",
                )
                for subscription in subscriptions
            )
        )
        sent.webhooks += len(subscriptions)


CHANNELS: tuple[Channel, ...] = (InboxChannel(), EmailChannel(), WebhookChannel())


async def send(uow: UnitOfWork, notice: Notice, audience: Audience) -> Sent:
    """Deliver ``notice`` to ``audience`` on every channel, in the caller's unit of work."""
    sent = Sent()
    for channel in CHANNELS:
        await channel.deliver(uow, notice, audience, sent)
    return sent
