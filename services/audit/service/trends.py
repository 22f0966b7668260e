"""The bureau's monthly trends (SPEC §22; definitions in docs/COMPLIANCE.md "Trends"): per month of
the range, five ratios, each numerator ÷ denominator with ``rate`` null when the denominator is 0.

The range is ``from``..``to`` (months ``YYYY-MM``, both included; by default the 12 months ending with
the current one), at most 60 months. A district bureau sees its district (asking for another is
403); the city bureau and admin every district, or the one they name.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.audit.repository.trends import Trends
from services.audit.service.compliance import required_so_far
from services.audit.states import READS_DASHBOARD
from shared.errors import Forbidden, ValidationFailed
from shared.i18n import text
from shared.reference import area_filter
from shared.uow import UnitOfWork

MAX_MONTHS = 60
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class Ratio:
    numerator: int = 0
    denominator: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True)
class MonthTrend:
    month: str
    custody_coverage: Ratio
    visits_delivered: Ratio
    hazards_closed_on_time: Ratio
    major_hazards_acknowledged_in_time: Ratio
    complaints_answered_on_time: Ratio


@dataclass(frozen=True)
class TrendReport:
    district: str | None
    town: str | None
    items: list[MonthTrend]


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _start(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


def _end(month: str) -> date:
    first = _start(month)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_range(first: str | None, last: str | None, *, today: date) -> list[str]:
    """The months from ``first`` to ``last`` inclusive (422 when reversed or over 60 months)."""
    end = _index(last) if last else today.year * 12 + today.month - 1
    start = _index(first) if first else end - DEFAULT_MONTHS + 1
    if end < start:
        raise ValidationFailed(text("截止月份早于起始月份", "`to` is before `from`"))
    if end - start + 1 > MAX_MONTHS:
        raise ValidationFailed(text(f"时间范围最多 {MAX_MONTHS} 个月", f"The range is at most {MAX_MONTHS} months"))
    return [_name(i) for i in range(start, end + 1)]


def _scope(uow: UnitOfWork, district: str | None, town: str | None) -> tuple[str | None, str | None]:
    principal = uow.principal
    if principal.role not in READS_DASHBOARD:
        raise Forbidden(text("趋势统计仅供监管部门查看", "Trends are for the bureaus"))
    # checked against the jurisdiction data (422 naming the field); another district's or town's:
    # the repository refuses it (403)
    return area_filter(district, town)


def _visits(contracts: list[Any], rows: list[Any], months: list[str]) -> dict[str, Ratio]:
    """Required visits falling due in each month (the compliance rule's ``required_so_far`` increase
    over the month) and the delivered ones: the month's increase in due visits covered by the visits
    recorded so far in the term (``min(recorded, required)``), capped at the month's due visits — a
    visit made ahead of schedule counts in the month it falls due, a catch-up visit in the month it
    is made. Visit counts come grouped by contract and month from SQL."""
    recorded: dict[Any, dict[str, dict[str, int]]] = {}
    for row in rows:
        recorded.setdefault(row.contract_id, {})[row.month] = {
            k: int(v or 0) for k, v in row._mapping.items() if k not in ("contract_id", "month")
        }
    delivered = dict.fromkeys(months, 0)
    required = dict.fromkeys(months, 0)
    for contract in contracts:
        by_month = recorded.get(contract.id, {})
        for service in contract.services:
            item, times = service["item"], service["times_per_year"]
            before = [n[item] for m, n in by_month.items() if m < months[0] and item in n]
            so_far = sum(before)
            due_before = required_so_far(
                times, contract.start_date, contract.end_date, _end(_name(_index(months[0]) - 1))
            )
            satisfied_before = min(so_far, due_before)
            for month in months:
                so_far += by_month.get(month, {}).get(item, 0)
                due = required_so_far(times, contract.start_date, contract.end_date, _end(month))
                satisfied = min(so_far, due)
                required[month] += due - due_before
                delivered[month] += min(due - due_before, satisfied - satisfied_before)
                due_before, satisfied_before = due, satisfied
    return {m: Ratio(delivered[m], required[m]) for m in months}


def _ratios(rows: list[Any]) -> dict[str, Ratio]:
    return {month: Ratio(int(n or 0), int(d or 0)) for month, n, d in rows}


async def trends(
    uow: UnitOfWork, *, district: str | None, town: str | None, first: str | None, last: str | None
) -> TrendReport:
    asked = district
    district, town = _scope(uow, district, town)
    months = month_range(first, last, today=uow.clock.today())
    start, end = _start(months[0]), _end(months[-1])
    async with uow.read() as session:
        repo = Trends(session, uow.principal, district, town)
        enterprises = await repo.enterprises()
        covered = {m: int(n) for m, n in await repo.covered({m: _end(m) for m in months})}
        visits = _visits(await repo.contracts(start, end), await repo.visits(end), months)
        hazards = _ratios(await repo.hazards(start, end))
        majors = _ratios(await repo.major_acknowledged(start, end))
        complaints = _ratios(await repo.complaints(start, end))
    empty = Ratio()
    items = [
        MonthTrend(
            month=m,
            custody_coverage=Ratio(covered.get(m, 0), enterprises),
            visits_delivered=visits[m],
            hazards_closed_on_time=hazards.get(m, empty),
            major_hazards_acknowledged_in_time=majors.get(m, empty),
            complaints_answered_on_time=complaints.get(m, empty),
        )
        for m in months
    ]
    return TrendReport(district=asked, town=town, items=items)
