"""Compliance: required vs recorded visits per item; missed visits counted by sweep, once, with
visit.missed and credit −2 per missed visit."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from services.audit.service.compliance import required_so_far
from tests.audit.factories import (
    OTHER_DISTRICT,
    TODAY,
    Agency,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    clock_at,
    hazard,
    service_log,
)

YEAR = {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}


@pytest.mark.parametrize(
    ("times", "as_of", "expected"),
    [
        (12, date(2025, 12, 31), 0),  # before the term
        (12, date(2026, 1, 1), 0),
        (12, date(2026, 1, 31), 1),  # 31 of 365 days: 1.02
        (12, date(2026, 6, 1), 4),  # 152 days: 4.997
        (12, date(2026, 7, 3), 6),  # 184 days: 6.05
        (12, date(2026, 12, 31), 12),  # the whole term
        (12, date(2027, 3, 1), 12),  # after the term: capped
        (2, date(2026, 6, 1), 0),
        (2, date(2026, 7, 3), 1),
    ],
)
def test_required_so_far(times, as_of, expected):
    assert required_so_far(times, date(2026, 1, 1), date(2026, 12, 31), as_of) == expected


async def _log(h, contract, day, items):
    """A visit recorded on its day (SPEC §16: within ``max_log_delay_days``), the clock then back."""
    now = h.clock.now()
    h.clock.set(clock_at(day).now())
    r = await h.client.post(
        "/api/v1/service-logs",
        json=service_log(contract, visit_date=day, items=items, summary=f"{day} {items}"),
        headers=contract.agency.headers(),
    )
    h.clock.set(now)
    assert r.status_code == 201, r.text


async def test_missed_visits_counted_once_per_increase_with_credit(backend):
    async with audit_app(backend) as h:
        contract = await h.setup(**YEAR)
        await _log(h, contract, date(2026, 3, 1), ["hazard_inspection"])
        await _log(h, contract, date(2026, 4, 1), ["safety_training"])
        report = (await h.client.get(f"/api/v1/compliance/contracts/{contract.id}", headers=bureau())).json()
        assert report["as_of"] == TODAY.isoformat()
        assert report["items"] == [
            {
                "item": "hazard_inspection",
                "times_per_year": 12,
                "required_so_far": 4,
                "recorded": 1,
                "pending": 0,
                "missed": 0,
            },
            {
                "item": "safety_training",
                "times_per_year": 2,
                "required_so_far": 0,
                "recorded": 1,
                "pending": 0,
                "missed": 0,
            },
        ]

        # Two replicas sweeping at once count each missed visit once.
        results = await asyncio.gather(h.sweep(TODAY), h.sweep(TODAY))
        assert sum(r["visits_missed"] for r in results) == 3
        assert (await h.sweep(TODAY))["visits_missed"] == 0
        assert await h.emitted("visit.missed") == 3
        assert await h.emitted("agency.credit_changed") == 3
        report = (await h.client.get(f"/api/v1/compliance/contracts/{contract.id}", headers=bureau())).json()
        assert report["items"][0]["missed"] == 3
        missed = await h.events("visit.missed", count=3)
        expected = {
            "id": contract.id,
            "contract_id": contract.id,
            "agency_id": contract.agency.id,
            "item": "hazard_inspection",
            "as_of": TODAY.isoformat(),
        }
        assert [{k: e.data[k] for k in expected} for e in missed] == [expected] * 3
        assert [(e.data["missed"], e.data["version"]) for e in missed] == [(1, 1), (2, 2), (3, 3)]

        # A late visit does not undo what was missed; a later date adds only the new ones.
        await _log(h, contract, TODAY, ["hazard_inspection"])
        later = date(2026, 7, 10)
        h.clock.set(clock_at(later).now())
        result = await h.sweep(later)  # due by 07-03 (the grace: 7 days) 6, recorded 2: 4 missed, 3 counted
        assert result["visits_missed"] == 1
        events = await h.events("visit.missed", count=4)
        assert [e.data["missed"] for e in events] == [1, 2, 3, 4]
        credit = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=admin())).json()
        assert credit["score"] == 92
        assert credit["grade"] == "A"
        assert [r["kind"] for r in credit["records"]] == ["missed_visit"] * 4
        assert [r["ref"] for r in credit["records"]] == [f"{contract.id}:hazard_inspection#{n}" for n in range(1, 5)]
        assert [r["delta"] for r in credit["records"]] == [-2] * 4


async def test_only_active_contracts_are_swept_and_logs_outside_the_term_do_not_count(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup(**YEAR)
        ended = await h.setup(status="terminated", agency=contract.agency, **YEAR)
        result = await h.sweep(TODAY)
        assert result["visits_missed"] == 4  # the active contract only
        report = (await h.client.get(f"/api/v1/compliance/contracts/{ended.id}", headers=admin())).json()
        assert report["status"] == "terminated"
        assert report["items"][0]["missed"] == 0
        r = await h.client.post(
            "/api/v1/service-logs",
            json=service_log(contract, visit_date=date(2025, 12, 1)),
            headers=contract.agency.headers(),
        )
        assert r.status_code == 422


async def test_who_sees_compliance(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = await h.setup()
        path = f"/api/v1/compliance/contracts/{contract.id}"
        for headers in (contract.agency.headers(), contract.enterprise.headers(), bureau(), city(), admin()):
            assert (await h.client.get(path, headers=headers)).status_code == 200
        for headers in (other.agency.headers(), other.enterprise.headers(), bureau(OTHER_DISTRICT)):
            assert (await h.client.get(path, headers=headers)).status_code == 403
        assert (await h.client.get(path)).status_code == 401
        unknown = "/api/v1/compliance/contracts/0190f000-0000-7000-8000-000000000000"
        assert (await h.client.get(unknown, headers=admin())).status_code == 404
        report = (await h.client.get(path, headers=admin())).json()
        assert report["start_date"] == (TODAY - timedelta(days=10)).isoformat()


async def test_dashboard_summary_by_district(backend):
    async with audit_app(backend) as h:
        near = await h.setup(**YEAR)
        far = await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        r = await h.client.post(
            "/api/v1/service-logs",
            headers=near.agency.headers(),
            json=service_log(near, hazards=[hazard("major"), hazard("general")]),
        )
        assert r.status_code == 201
        await h.client.post(
            "/api/v1/complaints",
            headers=far.enterprise.headers(),
            json={"agency_id": far.agency.id, "category": "fee", "description": "收费不透明"},
        )
        await h.sweep(TODAY)  # near: 4 required, 1 recorded → 3 missed
        await h.client.post("/api/v1/audits/sample", json={"period": "2026-Q2", "seed": 1, "rate": 1.0}, headers=city())

        whole = (await h.client.get("/api/v1/compliance/summary", headers=city())).json()
        assert whole["districts"]["440703"] == {
            "hazards": {"open": 2},
            "major_hazards_open": 1,
            "complaints": {},
            "complaints_overdue": 0,
            "missed_visits": 3,
            "audits": {"pending": 1},
        }
        assert whole["districts"][OTHER_DISTRICT] == {
            "hazards": {},
            "major_hazards_open": 0,
            "complaints": {"received": 1},
            "complaints_overdue": 0,
            "missed_visits": 0,
            "audits": {"pending": 1},
        }
        mine = (await h.client.get("/api/v1/compliance/summary", headers=bureau(OTHER_DISTRICT))).json()
        assert list(mine["districts"]) == [OTHER_DISTRICT]
        for headers in (near.agency.headers(), near.enterprise.headers()):
            assert (await h.client.get("/api/v1/compliance/summary", headers=headers)).status_code == 403
        assert (await h.client.get("/api/v1/compliance/summary", headers=admin())).json() == whole
