"""The plan's evaluation on the dashboard (SPEC §22, issue #18): the last twelve months of the five
rates of ``GET /api/v1/compliance/trends`` (one upstream call, scoped like the rest of the page) — a
bar per month of custody coverage, and every rate by month as a table (the chart's numbers in text;
a month in which nothing was due shows a dash, not a zero)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portal.svg import bar_chart

if TYPE_CHECKING:
    from portal.api import Api as Upstream
    from portal.dashboard import DashboardData

MEASURES = (
    "custody_coverage",
    "visits_delivered",
    "hazards_closed_on_time",
    "major_hazards_acknowledged_in_time",
    "complaints_answered_on_time",
)
NOTHING_DUE = "—"


def calls(up: Upstream, scope: dict[str, str]) -> dict[str, Any]:
    return {"trends": up.get("/api/v1/compliance/trends", scope)}


def what(t: Any) -> dict[str, str]:
    return {"trends": t("dash_trends")}


def _percent(ratio: dict[str, Any]) -> int | str:
    rate = ratio.get("rate")
    return NOTHING_DUE if rate is None else round(100 * float(rate))


def fill(data: DashboardData, results: dict[str, Any], errors: dict[str, Any], *, t: Any) -> None:
    from portal.dashboard import Chart  # the dashboard imports this module

    if "trends" in errors:
        return
    months = [m for m in (results["trends"] or {}).get("items") or [] if isinstance(m, dict)]
    if not months:
        return
    rows = [(str(m["month"]), [_percent(m.get(key) or {}) for key in MEASURES]) for m in months]
    coverage = [(month, float(values[0]) if isinstance(values[0], int) else 0.0) for month, values in rows]
    data.charts.append(
        Chart(
            "trends",
            t("dash_trends"),
            bar_chart(coverage, title=t("trend_custody_coverage")),
            len(rows),
            [t(f"trend_{key}") for key in MEASURES],
            rows,
            row_header=t("month"),
        )
    )
