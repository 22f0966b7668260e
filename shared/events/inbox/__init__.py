"""The inbox: what a service consumes (``Consumers``) and its durable consumers (``Subscriber``)."""

from shared.events.inbox.declared import Consumers, Handler, durable_name, family_of
from shared.events.inbox.durables import FETCH_BATCH, IDLE_WAIT
from shared.events.inbox.subscriber import Subscriber, backoff_seconds

__all__ = [
    "FETCH_BATCH",
    "IDLE_WAIT",
    "Consumers",
    "Handler",
    "Subscriber",
    "backoff_seconds",
    "durable_name",
    "family_of",
]
