"""The bureau dashboard's figures (SPEC §12): per district — agencies by status and grade, contracts
by status, open and overdue hazards, complaints by state, missed visits — and the queues waiting
for the bureau. Read through the services' own list endpoints with the bureau's token, so that the
services' object-level authorization decides what a district bureau sees."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from portal import dashboard_areas as areas
from portal import dashboard_trends as trends
from portal import dashboard_watch as watch
from portal import labels
from portal.api import Api as Upstream
from portal.svg import bar_chart, stacked_bar_chart

QUEUE_ROWS = 50


@dataclass
class Chart:
    key: str
    title: str
    svg: Markup
    total: int
    columns: list[str] = field(default_factory=list)  # the chart's numbers as a table (accessibility)
    rows: Sequence[tuple[str, Sequence[int | str]]] = field(default_factory=list)
    row_header: str | None = None  # the table's first column (default: district, or category)


@dataclass
class DashboardData:
    city: bool
    scope: str
    districts: list[tuple[str, str]]
    tiles: list[tuple[str, str, int]] = field(default_factory=list)  # (key, label, value)
    charts: list[Chart] = field(default_factory=list)
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queue_totals: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False
    unauthorized: bool = False
    level: str = "city"  # city | district | town (portal.dashboard_areas)
    below: areas.AreaTable | None = None  # the areas one level down, each a link to its view
    notes: list[str] = field(default_factory=list)  # what a view shows differently (not a failure)
    trail: list[tuple[str, str | None]] = field(default_factory=list)  # the breadcrumb


def _chart(
    key: str,
    title: str,
    per_district: dict[str, Counter[str]],
    order: list[str],
    vocabulary: str | None,
    districts: list[tuple[str, str]],
    city: bool,
    lang: str,
) -> Chart:
    present = [k for k in order if any(per_district.get(d, Counter())[k] for d, _ in districts)]
    present += sorted({k for d, _ in districts for k in per_district.get(d, Counter()) if k not in order and k})
    naming = (lambda k: labels.name(vocabulary, k, lang)) if vocabulary else (lambda k: k)
    total = sum(per_district.get(d, Counter())[k] for d, _ in districts for k in present)
    if city:
        series = [(naming(k), [float(per_district.get(d, Counter())[k]) for d, _ in districts]) for k in present]
        svg = stacked_bar_chart([labels.short_district_name(d, lang) for d, _ in districts], series, title=title)
        columns = [naming(k) for k in present]
        table = [
            (labels.short_district_name(d, lang), [per_district.get(d, Counter())[k] for k in present])
            for d, _ in districts
        ]
    else:
        code = districts[0][0]
        counts = per_district.get(code, Counter())
        rows = [(naming(k), float(counts[k])) for k in present] or [(labels.message("total", lang), 0.0)]
        svg = bar_chart(rows, title=title)
        columns = [labels.message("count", lang)]
        table = [(label, [int(value)]) for label, value in rows]
    return Chart(key, title, svg, total, columns, table)


def _scope(scope: areas.Scope, lang: str) -> tuple[bool, list[tuple[str, str]], str | None]:
    """What the charts compare: the city's districts, or the one district (a town view's rows are
    its district's rows that the services kept to the town)."""
    if scope.level == "city" or not scope.district:
        return True, labels.districts(lang), None
    return False, [(scope.district, labels.district_name(scope.district, lang))], scope.district


def _counted(body: Any, key: str, only: str | None) -> dict[str, Counter[str]]:
    """A count endpoint's answer (``{by: [district, key], items: [...]}``) as ``{district: Counter}``."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for item in (body.get("items") if isinstance(body, dict) else None) or []:
        if not isinstance(item, dict):
            continue
        code = str(item.get("district") or "")
        if only and code != only:
            continue
        out[code][str(item.get(key) or "")] += int(item.get("count") or 0)
    return out


def _sum(per_district: dict[str, Counter[str]], status: str | None = None) -> int:
    return sum(c[status] if status else sum(c.values()) for c in per_district.values())


async def build(
    up: Upstream, *, role: str, district: str | None, lang: str, scope: areas.Scope | None = None
) -> DashboardData:
    """The figures from the services' count endpoints (one ``GROUP BY`` each, docs/PORTAL.md,
    DECISIONS D53), the audit service's per-district counts (``GET /api/v1/compliance/summary``)
    and the queues' first pages: a constant number of calls, whatever the number of rows (15: eight
    for the figures and queues, six for the watch lists of ``portal.dashboard_watch``, one for the
    monthly trends of ``portal.dashboard_trends``); a district view two more (its towns' counts), a
    town view one fewer (no per-district summary): portal.dashboard_areas."""
    scope = scope or areas.own_scope(role, district)
    city, districts, only = _scope(scope, lang)

    def t(key: str, **p: Any) -> str:
        return labels.message(key, lang, **p)

    data = DashboardData(
        city=city,
        districts=districts,
        scope=t("scope_city")
        if city
        else t("scope_district", name=labels.district_name(scope.town or scope.district, lang)),
        level=scope.level,
        trail=areas.trail(scope, lang, areas.own_scope(role, district)),
    )
    scope_param = scope.params
    soon = (date.today() + timedelta(days=31)).isoformat()  # end_date <= today + 30 days
    queue = {"limit": QUEUE_ROWS, **scope_param}
    results, errors = await up.gather(
        {
            "agencies": up.get("/api/v1/agencies/counts", {"by": "district,status", **scope_param}),
            "directory": up.get("/api/v1/directory/counts", {"by": "district,grade"}),
            "contracts": up.get("/api/v1/contracts/counts", {"by": "district,status", **scope_param}),
            "expiring": up.get(
                "/api/v1/contracts/counts",
                {"by": "district,status", "status": "active", "ending_before": soon, **scope_param},
            ),
            **({} if scope.town else {"summary": up.get("/api/v1/compliance/summary")}),
            "filings": up.page("/api/v1/agencies", {"status": "submitted", **queue}),
            "contract_queue": up.page("/api/v1/contracts", {"status": "filing", **queue}),
            "complaints": up.page("/api/v1/complaints", {"status": "received", "limit": QUEUE_ROWS}),
            **watch.calls(up, scope_param),
            **trends.calls(up, scope_param),
            **areas.calls(up, scope),
        }
    )
    if any(e.unauthorized for e in errors.values()):
        data.unauthorized = True
        return data

    def mine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A district bureau: its district only, whatever a list returned."""
        return [i for i in rows if not only or str(i.get("district_code") or "") == only]

    # a town view does not ask for the per-district summary: its figures are absent, not failed
    missing = set(errors) | ({"summary"} if scope.town else set())
    grades = _counted(results.get("directory"), "grade", only)
    by_status = _counted(results.get("agencies"), "status", only)
    contract_status = _counted(results.get("contracts"), "status", only)
    expiring = _counted(results.get("expiring"), "status", only)
    received = mine((results.get("complaints") or ([], None))[0])
    per_district: dict[str, dict[str, Any]] = {}
    if "summary" not in missing and isinstance(results.get("summary"), dict):
        per_district = {
            str(k): v for k, v in (results["summary"].get("districts") or {}).items() if isinstance(v, dict)
        }
        if only:
            per_district = {k: v for k, v in per_district.items() if k == only}
    what = {
        "agencies": t("agencies_by_status"),
        "directory": t("agencies_by_grade"),
        "contracts": t("contracts_by_status"),
        "expiring": t("tile_expiring"),
        "summary": t("hazards") + "、" + t("complaints") + "、" + t("missed_visits"),
        "filings": t("queue_filings"),
        "contract_queue": t("queue_contracts"),
        "complaints": t("queue_complaints"),
        **watch.what(t),
        **trends.what(t),
        **areas.what(t),
    }
    refused = areas.not_taken(errors, scope)
    names = sorted({what[n] for n in errors if n not in refused})
    if refused:
        data.notes.append(
            t("dash_by_town_unsupported")
            if scope.level == "district"
            else t("dash_town_unsupported", what="、".join(sorted({what[n] for n in refused})))
        )
    if names:
        data.problems.append(t("partial_unavailable", what="、".join(names)))

    if "agencies" not in errors:
        data.charts.append(
            _chart(
                "agencies",
                t("agencies_by_status"),
                by_status,
                list(labels.AGENCY_STATUS),
                "agency_status",
                districts,
                city,
                lang,
            )
        )
    if "directory" not in errors:
        data.charts.append(
            _chart(
                "grades",
                t("agencies_by_grade"),
                grades,
                list(labels.GRADES),
                "grade",
                districts,
                city,
                lang,
            )
        )
    if "contracts" not in errors:
        data.charts.append(
            _chart(
                "contracts",
                t("contracts_by_status"),
                contract_status,
                list(labels.CONTRACT_STATUS),
                "contract_status",
                districts,
                city,
                lang,
            )
        )
    if "summary" not in missing:
        hazards = {
            d: Counter({k: int(n) for k, n in (v.get("hazards") or {}).items() if k in ("open", "overdue")})
            for d, v in per_district.items()
        }
        data.charts.append(
            _chart(
                "hazards",
                t("hazards_open_overdue"),
                hazards,
                ["open", "overdue"],
                "hazard_status",
                districts,
                city,
                lang,
            )
        )
        complaints = {
            d: Counter({k: int(n) for k, n in (v.get("complaints") or {}).items()}) for d, v in per_district.items()
        }
        data.charts.append(
            _chart(
                "complaints",
                t("complaints_by_state"),
                complaints,
                list(labels.COMPLAINT_STATUS),
                "complaint_status",
                districts,
                city,
                lang,
            )
        )
        rows = [
            (labels.short_district_name(code, lang), float((per_district.get(code) or {}).get("missed_visits") or 0))
            for code, _ in districts
        ]
        data.charts.append(
            Chart(
                "missed",
                t("missed_visits"),
                bar_chart(rows, title=t("missed_visits"), color="#cf222e"),
                int(sum(n for _, n in rows)),
                [t("count")],
                [(label, [int(n)]) for label, n in rows],
            )
        )

    def tile(key: str, label: str, value: int, source: str) -> None:
        if source not in missing:
            data.tiles.append((key, label, value))

    def total(field: str, status: str | None = None) -> int:
        out = 0
        for v in per_district.values():
            value = v.get(field) or 0
            out += int(
                value.get(status, 0)
                if isinstance(value, dict) and status
                else (value if not isinstance(value, dict) else 0)
            )
        return out

    tile("approved", t("tile_approved"), _sum(by_status, "approved"), "agencies")
    tile("submitted", t("queue_filings"), _sum(by_status, "submitted"), "agencies")
    tile("active", t("tile_active"), _sum(contract_status, "active"), "contracts")
    tile("filing", t("queue_contracts"), _sum(contract_status, "filing"), "contracts")
    tile("expiring", t("tile_expiring"), _sum(expiring, "active"), "expiring")
    tile("open_hazards", t("tile_open_hazards"), total("hazards", "open"), "summary")
    tile("overdue_hazards", t("tile_overdue_hazards"), total("hazards", "overdue"), "summary")
    tile("major_open", t("tile_major_open"), total("major_hazards_open"), "summary")
    tile("received", t("queue_complaints"), total("complaints", "received"), "summary")
    tile("complaints_overdue", t("tile_complaints_overdue"), total("complaints_overdue"), "summary")
    tile("missed", t("missed_visits"), total("missed_visits"), "summary")

    # the queues: their first page; their totals from the counts (the list's own length if those failed)
    queues = {
        "filings": ("filings", "submitted", by_status, "agencies"),
        "contracts": ("contract_queue", "filing", contract_status, "contracts"),
    }
    for key, (source, status, counted, counts_source) in queues.items():
        if source in errors:
            continue
        rows_ = [r for r in mine((results.get(source) or ([], None))[0]) if r.get("status") == status]
        data.queue_totals[key] = _sum(counted, status) if counts_source not in errors else len(rows_)
        data.queues[key] = rows_[:QUEUE_ROWS]
    if "complaints" not in errors:
        data.queue_totals["complaints"] = len(received) if "summary" in missing else total("complaints", "received")
        data.queues["complaints"] = received[:QUEUE_ROWS]
    trends.fill(data, results, errors, t=t)
    areas.fill(data, results, missing, scope=scope, lang=lang, t=t)
    if scope.town:
        data.notes.append(t("dash_town_summary"))
    watch.fill(
        data,
        results,
        errors,
        only=only,
        lang=lang,
        counted=_counted,
        chart=lambda key, title, per, order, vocabulary: _chart(
            key, title, per, order, vocabulary, districts, city, lang
        ),
    )
    return data
