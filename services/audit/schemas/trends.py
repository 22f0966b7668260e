"""Response models of the bureau's monthly trends (SPEC §22)."""

from __future__ import annotations

from services.audit.schemas import Read


class RatioRead(Read):
    numerator: int
    denominator: int
    rate: float | None  # null when the denominator is 0 (nothing was due)


class MonthTrendRead(Read):
    month: str  # YYYY-MM
    custody_coverage: RatioRead
    visits_delivered: RatioRead
    hazards_closed_on_time: RatioRead
    major_hazards_acknowledged_in_time: RatioRead
    complaints_answered_on_time: RatioRead


class TrendsRead(Read):
    district: str | None  # the district asked for; null for the caller's whole jurisdiction
    town: str | None = None  # the town asked for (SPEC §22)
    items: list[MonthTrendRead]
