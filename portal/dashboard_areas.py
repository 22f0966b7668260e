"""The dashboard's drill-down, city → district → town (SPEC §22 "Towns", issue #18 item 2, issue #19):
which area a view shows (the account's own, or one inside it that the page names with ``?district=`` or
``?town=``), the query parameters every call of that view carries (``district=`` and, for a town,
``town=`` too: "every list with district= also takes town="), and the table of the areas one level
down, each a link to its own view.

Calls per view, whatever the number of rows or towns: the city's district table reads what the page
already fetched (nothing more); the district's town table asks two count endpoints grouped by town
(``contracts/counts`` and ``supervision/counts`` with ``by=town,status``); a town view sends
``district=&town=`` on each call and leaves out the per-district summary, which audit keeps by district
only (DECISIONS D57)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portal import labels
from shared.reference import load_jurisdiction

if TYPE_CHECKING:
    from portal.api import Api as Upstream
    from portal.dashboard import DashboardData

OPEN_CASES = ("reported", "acknowledged", "listed")


class OutsideScope(Exception):
    """The page named an area the account does not govern (403)."""


class UnknownArea(Exception):
    """The page named a code the jurisdiction data does not have at that level (404)."""


@dataclass(frozen=True)
class Scope:
    level: str  # city | district | town
    district: str | None = None
    town: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """What every call of this view carries."""
        out: dict[str, str] = {}
        if self.district:
            out["district"] = self.district
        if self.town:
            out["town"] = self.town
        return out

    @property
    def query(self) -> str:
        """This view's own address on the portal."""
        if self.town:
            return f"/portal/dashboard?town={self.town}"
        if self.district:
            return f"/portal/dashboard?district={self.district}"
        return "/portal/dashboard"


@dataclass
class AreaRow:
    code: str
    name: str
    href: str
    values: list[int | str]


@dataclass
class AreaTable:
    level: str  # district | town: what the rows are
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[AreaRow] = field(default_factory=list)


def own_scope(role: str, claim: str | None) -> Scope:
    """The account's own area: admin, the city (or no claim) → the city; a district code → that
    district; a town code → that town (within its district)."""
    jur = load_jurisdiction()
    area = jur.areas.get(claim or "")
    if role == "admin" or not claim or jur.is_city(claim) or area is None:
        return Scope("city")
    if area.level == "town":
        return Scope("town", district=area.parent, town=area.code)
    if area.level == "district":
        return Scope("district", district=area.code)
    return Scope("city")


def scope_of(role: str, claim: str | None, *, district: str | None, town: str | None) -> Scope:
    """The view a page asks for (``?town=`` wins over ``?district=``), inside the account's own."""
    jur = load_jurisdiction()
    mine = own_scope(role, claim)
    if town:
        area = jur.areas.get(town)
        if area is None or area.level != "town":
            raise UnknownArea(town)
        wanted = Scope("town", district=area.parent, town=area.code)
    elif district:
        if not jur.is_district(district):
            raise UnknownArea(district)
        wanted = Scope("district", district=district)
    else:
        return mine
    inside = (
        mine.level == "city"
        or (mine.level == "district" and wanted.district == mine.district)
        or (mine.level == "town" and wanted.town == mine.town)
    )
    if not inside:
        raise OutsideScope(town or district)
    return wanted


def towns_of(district: str, lang: str) -> list[tuple[str, str]]:
    """A district's towns from the jurisdiction data, in the file's order."""
    jur = load_jurisdiction()
    return [
        (a.code, jur.name_of(a.code, lang)) for a in jur.areas.values() if a.level == "town" and a.parent == district
    ]


LEVELS = ("city", "district", "town")


def trail(scope: Scope, lang: str, own: Scope | None = None) -> list[tuple[str, str | None]]:
    """The breadcrumb: ``(name, href)`` from the city down; the current view, and the levels above
    the account's own (``own``: a district bureau cannot open the city's view), without a link."""
    jur = load_jurisdiction()
    top = LEVELS.index(own.level) if own else 0
    steps: list[tuple[str, str | None]] = [(jur.name_of(jur.city.code, lang), "/portal/dashboard")]
    if scope.district:
        steps.append((jur.name_of(scope.district, lang), Scope("district", scope.district).query))
    if scope.town:
        steps.append((jur.name_of(scope.town, lang), scope.query))
    return [(name, href if top <= i < len(steps) - 1 else None) for i, (name, href) in enumerate(steps)]


def calls(up: Upstream, scope: Scope) -> dict[str, Any]:
    """The district view's two counts by town (none for the city or a town)."""
    if scope.level != "district":
        return {}
    by = {"by": "town,status", **scope.params}
    return {
        "town_contracts": up.get("/api/v1/contracts/counts", by),
        "town_cases": up.get("/api/v1/supervision/counts", by),
    }


def what(t: Any) -> dict[str, str]:
    return {"town_contracts": t("dash_by_town"), "town_cases": t("dash_by_town")}


def not_taken(errors: dict[str, Any], scope: Scope) -> set[str]:
    """The calls a service refused as a request it does not take (422) because of the town: the
    district's counts by town, or any call of a town view (``town=`` not yet taken there). The page
    says so in a note, not as "temporarily unavailable" (a 5xx or no answer still is)."""
    if scope.level == "district":
        names: tuple[str, ...] = ("town_contracts", "town_cases")
    elif scope.level == "town":
        names = tuple(errors)
    else:
        names = ()
    return {name for name in names if name in errors and errors[name].status == 422}


def _by(body: Any, dimension: str, key: str) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for item in (body.get("items") if isinstance(body, dict) else None) or []:
        if isinstance(item, dict):
            out.setdefault(str(item.get(dimension) or ""), Counter())[str(item.get(key) or "")] += int(
                item.get("count") or 0
            )
    return out


def fill(
    data: DashboardData, results: dict[str, Any], errors: Container[str], *, scope: Scope, lang: str, t: Any
) -> None:
    """The table of the areas one level down (a town has none); ``errors``: the calls that failed or
    were not made."""
    if scope.level == "city":
        _districts(data, results, errors, lang=lang, t=t)
    elif scope.level == "district" and scope.district:
        _towns(data, results, errors, district=scope.district, lang=lang, t=t)


def _value(source: str, errors: Container[str], n: int) -> int | str:
    return "—" if source in errors else n


def _districts(data: DashboardData, results: dict[str, Any], errors: Container[str], *, lang: str, t: Any) -> None:
    agencies = _by(results.get("agencies"), "district", "status")
    contracts = _by(results.get("contracts"), "district", "status")
    cases = _by(results.get("cases"), "district", "status")
    summary = (results.get("summary") or {}).get("districts") or {} if "summary" not in errors else {}
    table = AreaTable(
        "district",
        t("dash_by_district"),
        [
            t("tile_approved"),
            t("tile_active"),
            t("queue_contracts"),
            t("tile_open_hazards"),
            t("tile_overdue_hazards"),
            t("dash_cases_open"),
        ],
    )
    for code, name in labels.districts(lang):
        hazards = (summary.get(code) or {}).get("hazards") or {}
        open_cases = sum(n for k, n in cases.get(code, Counter()).items() if k in OPEN_CASES)
        table.rows.append(
            AreaRow(
                code,
                name,
                Scope("district", code).query,
                [
                    _value("agencies", errors, agencies.get(code, Counter())["approved"]),
                    _value("contracts", errors, contracts.get(code, Counter())["active"]),
                    _value("contracts", errors, contracts.get(code, Counter())["filing"]),
                    _value("summary", errors, int(hazards.get("open") or 0)),
                    _value("summary", errors, int(hazards.get("overdue") or 0)),
                    _value("cases", errors, open_cases),
                ],
            )
        )
    data.below = table


def _towns(
    data: DashboardData, results: dict[str, Any], errors: Container[str], *, district: str, lang: str, t: Any
) -> None:
    contracts = _by(results.get("town_contracts"), "town", "status")
    cases = _by(results.get("town_cases"), "town", "status")
    table = AreaTable(
        "town",
        t("dash_by_town"),
        [t("tile_active"), t("queue_contracts"), t("dash_cases_open"), t("dash_cases_waiting")],
    )
    for code, name in towns_of(district, lang):
        counted = contracts.get(code, Counter())
        open_cases = sum(n for k, n in cases.get(code, Counter()).items() if k in OPEN_CASES)
        table.rows.append(
            AreaRow(
                code,
                name,
                Scope("town", district, code).query,
                [
                    _value("town_contracts", errors, counted["active"]),
                    _value("town_contracts", errors, counted["filing"]),
                    _value("town_cases", errors, open_cases),
                    _value("town_cases", errors, cases.get(code, Counter())["reported"]),
                ],
            )
        )
    data.below = table
