"""The notify service's use cases: the inbox, webhook subscriptions, and telling people
(events, reminders, digests)."""

from services.notify.service.inbox import listing as inbox_listing
from services.notify.service.inbox import mark_read, read_all, summary
from services.notify.service.notices import on_event, reminders_due, send_digests, send_reminder
from services.notify.service.webhooks import (
    create,
    delete,
    deliveries,
    get,
    listing,
    record_attempt,
    retry,
    subscription_for_delivery,
)

__all__ = [
    "create",
    "delete",
    "deliveries",
    "get",
    "inbox_listing",
    "listing",
    "mark_read",
    "on_event",
    "read_all",
    "record_attempt",
    "reminders_due",
    "retry",
    "send_digests",
    "send_reminder",
    "subscription_for_delivery",
    "summary",
]
