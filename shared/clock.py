"""An injectable clock: services ask ``app.state.clock`` for the time so tests can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    def now(self) -> datetime:
        return utcnow()

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that stands still until moved; for tests."""

    def __init__(self, at: datetime | None = None) -> None:
        self._at = at or utcnow()

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite drops the zone of stored timestamps: re-attach UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
