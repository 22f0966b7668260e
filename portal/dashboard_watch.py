"""The dashboard's watch lists (SPEC §17, §18, issue #19): the open major-hazard supervision cases
with their clocks, the agencies flagged noncompliant (below the staffing minimums) and the filings
whose validity ends within 30 days. Six upstream calls, whatever the number of rows: three count
endpoints (one ``GROUP BY`` each), the first page of the cases waiting for acknowledgement and the
first page of the noncompliant agencies."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from portal import labels

if TYPE_CHECKING:
    from portal.api import Api as Upstream
    from portal.dashboard import DashboardData

ROWS = 50
OPEN_CASES = ("reported", "acknowledged", "listed")  # SUPERVISION_STATUS without "closed"


def calls(up: Upstream, scope: dict[str, str]) -> dict[str, Any]:
    """The coroutines to gather with the rest of the dashboard's calls."""
    soon = (date.today() + timedelta(days=31)).isoformat()  # valid_until <= today + 30 days
    by = {"by": "district,status", **scope}
    return {
        "cases": up.get("/api/v1/supervision/counts", by),
        "cases_late": up.get("/api/v1/supervision/counts", {**by, "overdue_ack": "true"}),
        "case_queue": up.page("/api/v1/supervision", {"status": "reported", "limit": ROWS, **scope}),
        "noncompliant": up.get("/api/v1/agencies/counts", {**by, "noncompliant": "true"}),
        "noncompliant_list": up.page("/api/v1/agencies", {"noncompliant": "true", "limit": ROWS, **scope}),
        "filings_expiring": up.get("/api/v1/agencies/counts", {**by, "status": "approved", "valid_until_before": soon}),
    }


def what(t: Any) -> dict[str, str]:
    """Each call's name in the "partly unavailable" notice."""
    return {
        "cases": t("supervision"),
        "cases_late": t("supervision"),
        "case_queue": t("supervision"),
        "noncompliant": t("dash_noncompliant"),
        "noncompliant_list": t("dash_noncompliant"),
        "filings_expiring": t("dash_filings_expiring"),
    }


class _Words:
    """What ``portal.pages.evidence.clock`` needs of a view: its ``t``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def t(self, key: str, **params: Any) -> str:
        return labels.message(key, self.lang, **params)


def fill(
    data: DashboardData,
    results: dict[str, Any],
    errors: dict[str, Any],
    *,
    only: str | None,
    lang: str,
    counted: Any,
    chart: Any,
) -> None:
    """Tiles, charts (their numbers as tables) and the two lists, from what came back."""
    from portal.pages.evidence import clock  # the supervision pages' own clock

    def t(key: str, **p: Any) -> str:
        return labels.message(key, lang, **p)

    def total(per_district: dict[str, Counter[str]], statuses: tuple[str, ...] | None = None) -> int:
        return sum(n for c in per_district.values() for k, n in c.items() if statuses is None or k in statuses)

    if "cases" not in errors:
        cases = {
            d: Counter({k: n for k, n in c.items() if k in OPEN_CASES})
            for d, c in counted(results.get("cases"), "status", only).items()
        }
        data.tiles.append(("sup_open", t("dash_cases_open"), total(cases)))
        data.charts.append(
            chart("supervision", t("dash_cases_by_status"), cases, list(OPEN_CASES), "supervision_status")
        )
    if "cases_late" not in errors:
        late = counted(results.get("cases_late"), "status", only)
        data.tiles.append(("sup_late", t("dash_cases_late"), total(late)))
    if "case_queue" not in errors:
        rows = [c for c in (results.get("case_queue") or ([], None))[0] if c.get("status") == "reported"]
        rows = [c for c in rows if not only or str(c.get("district_code") or "") == only]
        now = datetime.now(UTC)
        words: Any = _Words(lang)
        data.queues["supervision"] = [{**c, "clock": clock(c, words, now)} for c in rows[:ROWS]]
        data.queue_totals["supervision"] = (
            total(counted(results.get("cases"), "status", only), ("reported",)) if "cases" not in errors else len(rows)
        )
    if "noncompliant" not in errors:
        flagged = counted(results.get("noncompliant"), "status", only)
        data.tiles.append(("noncompliant", t("dash_noncompliant"), total(flagged)))
        data.charts.append(
            chart("noncompliant", t("dash_noncompliant"), flagged, list(labels.AGENCY_STATUS), "agency_status")
        )
    if "noncompliant_list" not in errors:
        rows = [a for a in (results.get("noncompliant_list") or ([], None))[0] if a.get("noncompliant") is True]
        rows = [a for a in rows if not only or str(a.get("district_code") or "") == only]
        data.queues["noncompliant"] = rows[:ROWS]
        data.queue_totals["noncompliant"] = (
            total(counted(results.get("noncompliant"), "status", only)) if "noncompliant" not in errors else len(rows)
        )
    if "filings_expiring" not in errors:
        expiring = counted(results.get("filings_expiring"), "status", only)
        data.tiles.append(("filings_expiring", t("dash_filings_expiring"), total(expiring)))
        data.charts.append(
            chart("filings_expiring", t("dash_filings_expiring"), expiring, ["approved"], "agency_status")
        )
