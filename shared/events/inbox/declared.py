"""What a service consumes, declared in its ``consumers.py``, and the event families that become
its durable consumers (docs/DECISIONS.md D59)."""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shared.events.envelope import CloudEvent

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

SHARED_DURABLE = "events"  # the durable of the families a service does not separate

Handler = Callable[["UnitOfWork", CloudEvent], Awaitable[None]]


def family_of(pattern: str) -> str:
    """The family of an event type or pattern: its first segment (``contract`` of ``contract.filed``
    and of ``contract.*``). Each family a service consumes is one durable consumer of its own, so
    an import's burst of ``enterprise.*`` never delays a ``contract.*`` event."""
    return pattern.split(".", 1)[0]


def durable_name(service: str, family: str) -> str:
    """The durable consumer of one family of one service: ``<service>_<family>`` (stable: renaming
    it would replay the family's history into the inbox, which dedupes but takes time)."""
    return f"{service}_{family}"


class Consumers:
    """What a service consumes: event types (or ``family.*`` patterns) and their handlers, declared
    in the service's ``consumers.py`` with ``@consumers.on(EventType.X, ...)``. A handler gets the
    unit of work the inbox opened for the event and the event.

    Each family is one durable consumer by default, so families are applied independently (in
    stream order within a family, not across families). A service whose handlers need one family's
    events applied before another's (notify resolves recipients from the accounts, agencies and
    contracts it has seen) names the families it ``separate``-s and the rest share one durable,
    ``<service>_events``, in stream order; ``separate=()`` keeps them all in one."""

    def __init__(self, *, separate: tuple[str, ...] | None = None) -> None:
        self._handlers: dict[str, Handler] = {}
        self.separate = separate

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for pattern in patterns:
                self.add(pattern, handler)
            return handler

        return register

    def add(self, pattern: str, handler: Handler) -> None:
        if pattern in self._handlers:
            raise ValueError(f"two handlers for {pattern}")
        if "." not in str(pattern) or family_of(str(pattern)) in {"*", ">"}:
            raise ValueError(f"{pattern}: a pattern names its family (`family.type` or `family.*`)")
        self._handlers[str(pattern)] = handler

    def handler_for(self, event_type: str) -> Handler | None:
        exact = self._handlers.get(event_type)
        if exact is not None:
            return exact
        for pattern, handler in self._handlers.items():
            if fnmatch.fnmatchcase(event_type, pattern):
                return handler
        return None

    @property
    def patterns(self) -> list[str]:
        return sorted(self._handlers)

    def durables(self) -> dict[str, tuple[set[str], list[str]]]:
        """Durable key (a family, or ``events`` for the rest) -> (its families, its patterns)."""
        grouped: dict[str, tuple[set[str], list[str]]] = {}
        for pattern in self.patterns:
            family = family_of(pattern)
            key = family if self.separate is None or family in self.separate else SHARED_DURABLE
            families, patterns = grouped.setdefault(key, (set(), []))
            families.add(family)
            patterns.append(pattern)
        return grouped

    def __bool__(self) -> bool:
        return bool(self._handlers)
