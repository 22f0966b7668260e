"""The enterprise credit file (SPEC §19, docs/CREDIT.md §6, docs/DECISIONS.md D47), through the
real audit service: hazards the enterprise left overdue cost −5 (major −10), a rectification it made
in time and that was verified earns +1 (cap 100), each cause once; every change emits
``enterprise.credit_changed``; the file is read by the bureau of the enterprise's district, the city
and the enterprise itself. Listed enterprises are sampled at twice the rate."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.audit.service.audits import Candidate, draw
from tests.audit.factories import (
    OTHER_DISTRICT,
    TODAY,
    Agency,
    Contract,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    clock_at,
    hazard,
    log_hazards,
)
from tests.audit.test_listings import notice

PATH = "/api/v1/credit/enterprises"


async def _rectify(h, contract, hid):
    r = await h.client.post(
        f"/api/v1/hazards/{hid}/rectify", json={"note": "已整改"}, headers=contract.enterprise.headers()
    )
    assert r.status_code == 200, r.text


async def _file(h, contract, headers=None):
    r = await h.client.get(f"{PATH}/{contract.enterprise.id}", headers=headers or contract.enterprise.headers())
    assert r.status_code == 200, r.text
    return r.json()


async def test_overdue_hazards_cost_and_rectifications_in_time_earn(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        start = await _file(h, contract)
        assert (start["score"], start["grade"], start["records"]) == (100, "A", [])
        assert start["enterprise_uscc"] == contract.enterprise.uscc
        deadline = TODAY + timedelta(days=5)
        general, major, in_time, awaiting, rejected = await log_hazards(
            h,
            contract,
            hazard(deadline=deadline),
            hazard("major", deadline=deadline),
            hazard(deadline=deadline),
            hazard(deadline=deadline),
            hazard(deadline=deadline),
        )
        for hid in (in_time, awaiting, rejected):
            await _rectify(h, contract, hid)
        r = await h.client.post(
            f"/api/v1/hazards/{rejected}/reject-rectification",
            json={"reason": "未整改到位"},
            headers=contract.agency.headers(),
        )
        assert r.status_code == 200, r.text
        after = deadline + timedelta(days=1)
        h.clock.set(clock_at(after).now())
        assert (await h.sweep(after))["hazards_overdue"] == 5
        assert (await h.sweep(after))["hazards_overdue"] == 0  # swept twice: charged once
        # never rectified (general, major, rejected): −5, −10, −5; rectified in time, awaiting the
        # agency (in_time, awaiting): not the enterprise's lateness
        file = await _file(h, contract)
        assert (file["score"], file["grade"]) == (80, "B")
        kinds = sorted((r["kind"], r["hazard_id"], r["delta"]) for r in file["records"])
        assert kinds == sorted(
            [("hazard_overdue", general, -5), ("major_hazard_overdue", major, -10), ("hazard_overdue", rejected, -5)]
        )
        assert all("逾期" in r["reason"] and "deadline" in r["reason"] for r in file["records"])
        # the agency verifies the rectification made in time: +1 for the enterprise
        r = await h.client.post(f"/api/v1/hazards/{in_time}/verify", headers=contract.agency.headers())
        assert r.status_code == 200, r.text
        file = await _file(h, contract)
        assert file["score"] == 81
        assert (file["records"][-1]["kind"], file["records"][-1]["ref"]) == ("rectified_on_time", in_time)
        assert file["version"] == 4 and len(file["records"]) == 4
        # rectified late, then verified: nothing earned
        await _rectify(h, contract, general)
        r = await h.client.post(f"/api/v1/hazards/{general}/verify", headers=contract.agency.headers())
        assert r.status_code == 200, r.text
        assert (await _file(h, contract))["score"] == 81
        changes = await h.events("enterprise.credit_changed", count=4)
        last = max(changes, key=lambda e: e.data["version"])
        assert last.data == {
            **last.data,
            "id": contract.enterprise.id,
            "uscc": contract.enterprise.uscc,
            "score": 81,
            "grade": "B",
            "previous_grade": "B",
            "delta": 1,
        }
        assert await h.emitted("enterprise.credit_changed") == 4


async def test_a_bonus_at_the_cap_is_not_banked_and_grade_d_is_announced(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        deadline = TODAY + timedelta(days=3)
        early, *majors = await log_hazards(
            h, contract, hazard(deadline=deadline), *[hazard("major", deadline=deadline) for _ in range(5)]
        )
        await _rectify(h, contract, early)
        r = await h.client.post(f"/api/v1/hazards/{early}/verify", headers=contract.agency.headers())
        assert r.status_code == 200, r.text
        file = await _file(h, contract)
        assert file["score"] == 100 and file["records"][0]["delta"] == 1  # recorded, capped
        after = deadline + timedelta(days=1)
        h.clock.set(clock_at(after).now())
        await h.sweep(after)
        file = await _file(h, contract, headers=bureau())
        assert (file["score"], file["grade"]) == (50, "D")
        assert {r["hazard_id"] for r in file["records"] if r["kind"] == "major_hazard_overdue"} == set(majors)
        events = await h.events("enterprise.credit_changed", count=6)
        into_d = [e.data for e in events if e.data["grade"] == "D" and e.data["previous_grade"] == "C"]
        assert len(into_d) == 1 and into_d[0]["score"] == 50


async def test_who_reads_an_enterprise_credit_file(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = Enterprise()
        await h.feed(other)
        url = f"{PATH}/{contract.enterprise.id}"
        for headers in (contract.enterprise.headers(), bureau(), city(), admin()):
            r = await h.client.get(url, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["etag"] == '"0"'
        for headers in (bureau(OTHER_DISTRICT), contract.agency.headers(), other.headers()):
            assert (await h.client.get(url, headers=headers)).status_code == 403
        assert (await h.client.get(url)).status_code == 401
        r = await h.client.get(f"{PATH}/{uuid.uuid4()}", headers=city())
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        for bad in ("x", contract.enterprise.uscc, "%00", "1" * 300):
            r = await h.client.get(f"{PATH}/{bad}", headers=city())
            assert r.status_code in (404, 422), r.text
            assert r.headers["content-type"].startswith("application/problem+json")


def test_listed_enterprises_form_watched_strata_in_the_recipe():
    pop = [Candidate(f"c{i:02}", f"a{i % 2}", "blue", f"e{i}") for i in range(20)]
    listed = frozenset(f"e{i}" for i in range(10))
    sample = draw(pop, seed="s", period="2026", rate=0.1, watched_enterprises=listed)
    assert sample.strata == {"blue": {"size": 10, "drawn": 1}, "blue:watched": {"size": 10, "drawn": 2}}
    plain = draw(pop, seed="s", period="2026", rate=0.1)
    assert plain.strata == {"blue": {"size": 20, "drawn": 2}}
    assert plain.population_sha256 == sample.population_sha256


async def test_listed_enterprises_are_drawn_at_twice_the_rate(backend):
    async with audit_app(backend) as h:
        agency = Agency()
        enterprises = [Enterprise(risk_level="blue") for _ in range(20)]
        contracts = [Contract(agency=agency, enterprise=e) for e in enterprises]
        await h.feed(agency, *enterprises, *contracts)
        for enterprise in enterprises[:11]:
            await notice(h, enterprise, "enterprise")
        assert (await h.sweep(TODAY + timedelta(days=6)))["listings_listed"] == 11
        await notice(h, enterprises[11], "enterprise")  # noticed, in its objection period: not on the list
        r = await h.client.post("/api/v1/audits/sample", json={"period": "2027-Q1", "seed": 7}, headers=bureau())
        assert r.status_code == 201, r.text
        sample = r.json()
        on_list = sorted(e.uscc for e in enterprises[:11])
        assert sample["watched_enterprises"] == on_list and sample["watched_agencies"] == []
        assert sample["strata"] == {"blue": {"size": 9, "drawn": 1}, "blue:watched": {"size": 11, "drawn": 3}}
        recomputed = draw(
            [Candidate(c.id, agency.id, "blue", c.enterprise.uscc) for c in contracts],
            seed="7",
            period="2027-Q1",
            rate=0.1,
            server_nonce=sample["server_nonce"],
            watched_enterprises=frozenset(sample["watched_enterprises"]),
        )
        assert [c["contract_id"] for c in sample["chosen"]] == [p.contract_id for p in recomputed.picks]
