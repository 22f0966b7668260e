"""The bureau's monthly trends (SPEC §22): every month of the range, with zeros (rate null) where
nothing was due; a contract, a visit, a hazard verified on time, a major hazard acknowledged in time
and a complaint answered on time show in their month; district scoping; bad input 422."""

from __future__ import annotations

from datetime import date

import pytest

from tests.audit.factories import (
    OTHER_DISTRICT,
    Agency,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    hazard,
    log_hazards,
)

URL = "/api/v1/compliance/trends"
YEAR = {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}
METRICS = (
    "custody_coverage",
    "visits_delivered",
    "hazards_closed_on_time",
    "major_hazards_acknowledged_in_time",
    "complaints_answered_on_time",
)
NOTHING = {"numerator": 0, "denominator": 0, "rate": None}


def _r(n, d):
    return {"numerator": n, "denominator": d, "rate": round(n / d, 4) if d else None}


async def _trends(h, headers, **params):
    r = await h.client.get(URL, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {item["month"]: item for item in r.json()["items"]}


async def test_an_empty_range_gives_every_month_with_zeros(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        months = await _trends(h, city(), **{"from": "2025-11", "to": "2026-02"})
        assert list(months) == ["2025-11", "2025-12", "2026-01", "2026-02"]
        for item in months.values():
            assert {k: item[k] for k in METRICS} == dict.fromkeys(METRICS, NOTHING)
        default = await _trends(h, bureau())
        assert [*default][::11] == ["2025-07", "2026-06"]  # the last 12 months


async def test_a_contract_a_visit_and_hazards_handled_in_time_show_in_their_month(backend):
    async with audit_app(backend) as h:
        near = await h.setup(**YEAR)
        await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        # one visit on TODAY (2026-06-01) reporting a general hazard (deadline 06-21) and a major one
        general, major = await log_hazards(h, near, hazard("general"), hazard("major"))
        r = await h.client.post(
            f"/api/v1/hazards/{general}/rectify", json={"note": "已整改"}, headers=near.enterprise.headers()
        )
        assert r.status_code == 200, r.text
        r = await h.client.post(f"/api/v1/hazards/{general}/verify", json={}, headers=near.agency.headers())
        assert r.status_code == 200, r.text
        cases = (await h.client.get("/api/v1/supervision?limit=200", headers=bureau())).json()["items"]
        [case] = [c for c in cases if c["hazard_id"] == major]
        r = await h.client.post(f"/api/v1/supervision/{case['id']}/acknowledge", headers=bureau())
        assert r.status_code == 200, r.text
        r = await h.client.post(
            "/api/v1/complaints",
            headers=near.enterprise.headers(),
            json={"agency_id": near.agency.id, "category": "fee", "description": "收费不透明"},
        )
        cid = r.json()["id"]
        assert (await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())).status_code == 200
        r = await h.client.post(
            f"/api/v1/complaints/{cid}/respond", json={"response": "已说明"}, headers=near.agency.headers()
        )
        assert r.status_code == 200, r.text

        months = await _trends(h, bureau(), **{"from": "2025-12", "to": "2026-07"})
        assert list(months) == [f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, i) for i in range(1, 8)]]
        assert months["2025-12"]["custody_coverage"] == _r(0, 1)  # before the term
        for m in ("2026-01", "2026-06", "2026-07"):
            assert months[m]["custody_coverage"] == _r(1, 1)
        # hazard inspection 12 a year from 01-01: due visits reach 1, 1, 2, 3, 4, 5, 6 by month end
        visits = {m: months[m]["visits_delivered"] for m in months}
        assert visits["2025-12"] == NOTHING and visits["2026-02"] == NOTHING
        assert visits["2026-01"] == visits["2026-05"] == _r(0, 1)  # missed
        assert visits["2026-06"] == _r(1, 1)  # the June visit
        assert visits["2026-07"] == _r(0, 2)  # and the first of 2 trainings a year falls due
        assert months["2026-06"]["hazards_closed_on_time"] == _r(1, 2)  # the major one is not verified
        assert months["2026-06"]["major_hazards_acknowledged_in_time"] == _r(1, 1)
        assert months["2026-06"]["complaints_answered_on_time"] == _r(1, 1)  # due 06-11
        for m in ("2025-12", "2026-05", "2026-07"):
            assert months[m]["hazards_closed_on_time"] == NOTHING
            assert months[m]["major_hazards_acknowledged_in_time"] == NOTHING
        # the city sees both districts, or one it names; admin the same
        whole = await _trends(h, city(), **{"from": "2026-06", "to": "2026-06"})
        assert whole["2026-06"]["custody_coverage"] == _r(2, 2)
        assert whole["2026-06"]["hazards_closed_on_time"] == _r(1, 2)
        named = await _trends(h, admin(), **{"from": "2026-06", "to": "2026-06", "district": OTHER_DISTRICT})
        assert named["2026-06"]["custody_coverage"] == _r(1, 1)
        assert named["2026-06"]["hazards_closed_on_time"] == NOTHING
        # a district bureau: its own district only; another's is refused
        other = await _trends(h, bureau(OTHER_DISTRICT), **{"from": "2026-06", "to": "2026-06"})
        assert other["2026-06"]["custody_coverage"] == _r(1, 1)
        assert other["2026-06"]["visits_delivered"] == _r(0, 1)
        assert other["2026-06"]["hazards_closed_on_time"] == NOTHING
        r = await h.client.get(URL, params={"district": "440703"}, headers=bureau(OTHER_DISTRICT))
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        for headers in (near.agency.headers(), near.enterprise.headers()):
            assert (await h.client.get(URL, headers=headers)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13"},
        {"to": "2026-6"},
        {"from": "2026-05", "to": "2026-04"},  # to before from
        {"from": "2021-01", "to": "2026-01"},  # 61 months
        {"district": "4407"},
        {"town": "440703999"},  # not a town of the jurisdiction data (SPEC §22)
        {"district": "440704", "town": "440703001"},  # a town of another district
    ],
)
async def test_bad_input_is_422(sqlite_backend, params):
    async with audit_app(sqlite_backend) as h:
        r = await h.client.get(URL, params=params, headers=city())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_sixty_months_is_the_most(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        months = await _trends(h, city(), **{"from": "2021-02", "to": "2026-01"})
        assert len(months) == 60
