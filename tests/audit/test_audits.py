"""Quality audits: a deterministic, logged, stratified sample that covers every agency with
red-risk clients; results with scores and findings feed credit and the audit trail."""

from __future__ import annotations

from services.audit.service.audits import Candidate, draw
from tests.audit.factories import CITY, OTHER_DISTRICT, Agency, Contract, Enterprise, admin, audit_app, bureau, city

LEVELS = ["red", "orange", "yellow", "yellow", "blue", "blue", "blue", "blue"]


async def _population(h, n_agencies=4, per_agency=5, district="440703"):
    agencies = [Agency() for _ in range(n_agencies)]
    contracts = []
    things = list(agencies)
    for a_index, agency in enumerate(agencies):
        for i in range(per_agency):
            # only agency 0 and 3 have red clients
            level = "red" if i == 0 and a_index in (0, 3) else LEVELS[1 + (a_index + i) % 7]
            enterprise = Enterprise(district_code=district, risk_level=level)
            contract = Contract(agency=agency, enterprise=enterprise, status="active" if i % 4 else "filed")
            things += [enterprise, contract]
            contracts.append(contract)
    await h.feed(*things)
    return contracts


def _expected(contracts, seed, period, rate, sample):
    """The draw recomputed from the sample's log (its server nonce and watched agencies)."""
    return draw(
        [Candidate(c.id, c.agency.id, c.enterprise.risk_level) for c in contracts],
        seed=seed,
        period=period,
        rate=rate,
        server_nonce=sample["server_nonce"],
        watched=frozenset(sample["watched_agencies"]),
    )


async def test_sample_is_deterministic_logged_stratified_and_covers_red_agencies(backend):
    async with audit_app(backend) as h:
        contracts = await _population(h)
        far = await _population(h, n_agencies=1, per_agency=2, district=OTHER_DISTRICT)
        ended = await h.setup(status="terminated")  # not in the population
        r = await h.client.post("/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 42}, headers=bureau())
        assert r.status_code == 201, r.text
        sample = r.json()
        assert len(sample["server_nonce"]) == 32 and sample["watched_agencies"] == []
        expected = _expected(contracts, "42", "2026-Q4", 0.10, sample)
        assert [c["contract_id"] for c in sample["chosen"]] == [p.contract_id for p in expected.picks]
        assert sample["population_size"] == len(contracts) == 20
        assert sample["population_sha256"] == expected.population_sha256
        assert sample["rate"] == 0.10
        assert sample["seed"] == "42"
        assert sample["district"] == "440703"
        assert sample["strata"] == expected.strata
        red_agencies = {c.agency.id for c in contracts if c.enterprise.risk_level == "red"}
        assert red_agencies <= {c["agency_id"] for c in sample["chosen"]}
        assert {t["contract_id"] for t in sample["tasks"]} == {c["contract_id"] for c in sample["chosen"]}
        assert {t["status"] for t in sample["tasks"]} == {"pending"}
        assert ended.id not in {c["contract_id"] for c in sample["chosen"]}
        assert not {c.id for c in far} & {c["contract_id"] for c in sample["chosen"]}

        # The log can be read back and is unchanged.
        logged = await h.client.get(f"/api/v1/audits/samples/{sample['id']}", headers=bureau())
        assert logged.status_code == 200
        assert logged.json() == sample
        assert (
            await h.client.get(f"/api/v1/audits/samples/{sample['id']}", headers=bureau(OTHER_DISTRICT))
        ).status_code == 403
        # No redraw with another seed for the same period and district, nor for one overlapping it.
        for period in ("2026-Q4", "2026-11", "2026-H2", "2026"):
            again = await h.client.post("/api/v1/audits/sample", json={"period": period, "seed": 43}, headers=bureau())
            assert again.status_code == 409, period
            assert again.json()["existing_id"] == sample["id"]
        # The city samples the whole city; contracts already under audit this period get no second task.
        whole = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": "abc", "rate": 1.0}, headers=city()
        )
        assert whole.status_code == 201
        assert whole.json()["population_size"] == 22
        assert whole.json()["district"] is None
        assert len(whole.json()["tasks"]) == 22 - len(sample["tasks"])
        city_log = f"/api/v1/audits/samples/{whole.json()['id']}"
        assert (await h.client.get(city_log, headers=bureau())).status_code == 403  # it spans other districts
        assert (await h.client.get(city_log, headers=admin())).status_code == 200
        assert (await h.client.get(city_log, headers=Agency().headers())).status_code == 403
        trail = await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())
        # No broken link; completeness unknown, as the witness (registry) is not running here.
        assert trail.json()["valid"] is None and trail.json()["reason"] == "witness_unavailable"
        assert trail.json()["entries"] == 2


async def test_who_may_sample_where(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        await h.setup()
        for headers in (Agency().headers(), Enterprise().headers()):
            r = await h.client.post("/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 1}, headers=headers)
            assert r.status_code == 403
        for district in (OTHER_DISTRICT, CITY):
            r = await h.client.post(
                "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 1, "district": district}, headers=bureau()
            )
            assert r.status_code == 403
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 1, "district": "999999"}, headers=city()
        )
        assert r.status_code == 422
        assert r.json()["code"] == "unknown_district"
        for bad in (
            {"period": "2026-Q5", "seed": 1},
            {"period": "2026-Q4"},
            {"period": "2026-Q4", "seed": 1, "rate": 0},
            {"period": "2026-Q4", "seed": 1, "rate": 1.5},
            {"period": "2026-Q4", "seed": ""},
            {"period": "2026-Q4", "seed": 1, "extra": True},
        ):
            r = await h.client.post("/api/v1/audits/sample", json=bad, headers=city())
            assert r.status_code == 422, (bad, r.text)
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 1, "district": OTHER_DISTRICT}, headers=city()
        )
        assert r.status_code == 201
        assert r.json()["population_size"] == 0
        assert r.json()["tasks"] == []
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 1, "district": CITY}, headers=admin()
        )
        assert r.status_code == 201
        assert r.json()["district"] is None


async def _one_task(h, contract):
    r = await h.client.post("/api/v1/audits/sample", json={"period": "2026-Q3", "seed": 7, "rate": 1.0}, headers=city())
    assert r.status_code == 201, r.text
    return next(t for t in r.json()["tasks"] if t["contract_id"] == contract.id)


async def test_result_completes_once_and_feeds_credit_and_trail(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        task = await _one_task(h, contract)
        body = {
            "scores": [
                {"criterion": "隐患排查质量", "score": 50},
                {"criterion": "台账完整性", "score": 45.5},
                {"criterion": "服务频次", "score": 60},
            ],
            "findings": "检查记录与现场不符",
            "fraud": True,
        }
        r = await h.client.post(f"/api/v1/audits/{task['id']}/result", json=body, headers=bureau())
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "completed"
        assert done["total"] == 51.8
        assert done["fraud"] is True
        assert done["findings"] == "检查记录与现场不符"
        assert len(done["scores"]) == 3
        again = await h.client.post(f"/api/v1/audits/{task['id']}/result", json=body, headers=bureau())
        assert again.status_code == 409
        [event] = await h.events("audit.completed")
        assert event.data["total"] == 51.8
        assert event.data["fraud"] is True
        assert event.data["agency_id"] == contract.agency.id
        credit = (
            await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=contract.agency.headers())
        ).json()
        assert credit["score"] == 55
        assert credit["grade"] == "D"
        assert sorted((r["kind"], r["delta"]) for r in credit["records"]) == [
            ("audit_below_60", -15),
            ("fraud_finding", -30),
        ]
        assert {r["ref"] for r in credit["records"]} == {task["id"]}
        changes = await h.events("agency.credit_changed", count=2)
        assert [(e.data["version"], e.data["score"], e.data["grade"]) for e in changes] == [(1, 85, "B"), (2, 55, "D")]
        trail = (await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        assert trail["valid"] is None and trail["reason"] == "witness_unavailable"  # no witness here
        assert trail["entries"] == 2


async def test_good_audit_earns_a_bonus_below_the_cap(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        first, second = await _one_task(h, contract), None
        other = await h.setup(agency=contract.agency)
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q4", "seed": 7, "rate": 1.0}, headers=city()
        )
        second = next(t for t in r.json()["tasks"] if t["contract_id"] == other.id)
        r = await h.client.post(
            f"/api/v1/audits/{first['id']}/result", json={"scores": [{"criterion": "a", "score": 40}]}, headers=city()
        )
        assert r.json()["total"] == 40.0
        r = await h.client.post(
            f"/api/v1/audits/{second['id']}/result",
            json={"scores": [{"criterion": "a", "score": 90}, {"criterion": "b", "score": 89.9}]},
            headers=city(),
        )
        assert r.json()["total"] == 90.0  # 89.95 rounds to 90.0 and earns the bonus
        credit = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=bureau())).json()
        assert credit["score"] == 90
        assert [r["delta"] for r in credit["records"]] == [-15, 5]


async def test_result_authorization_validation_and_listing(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        task = await _one_task(h, contract)
        path = f"/api/v1/audits/{task['id']}/result"
        good = {"scores": [{"criterion": "a", "score": 80}], "findings": "", "fraud": False}
        for headers in (bureau(OTHER_DISTRICT), contract.agency.headers(), contract.enterprise.headers()):
            assert (await h.client.post(path, json=good, headers=headers)).status_code == 403
        for bad in (
            {"scores": []},
            {"scores": [{"criterion": "a", "score": 101}]},
            {"scores": [{"criterion": "a", "score": -1}]},
            {"scores": [{"criterion": "", "score": 1}]},
            {"scores": [{"criterion": "a", "score": "NaN"}]},
            {"scores": [{"criterion": "a"}]},
            {"scores": "all good"},
            {"scores": [{"criterion": "a", "score": 80}], "fraud": "maybe"},
        ):
            r = await h.client.post(path, json=bad, headers=bureau())
            assert r.status_code == 422, (bad, r.text)
        assert (
            await h.client.post(
                "/api/v1/audits/0190f000-0000-7000-8000-000000000000/result", json=good, headers=bureau()
            )
        ).status_code == 404
        assert (await h.client.post(path, json=good, headers={**bureau(), "If-Match": '"5"'})).status_code == 412
        assert (await h.client.post(path, json=good, headers=bureau())).status_code == 200

        async def ids(headers, query=""):
            r = await h.client.get(f"/api/v1/audits{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {t["id"] for t in r.json()["items"]}

        assert await ids(city(), "?status=completed") == {task["id"]}
        assert await ids(city(), "?status=pending") == set()
        assert await ids(city(), f"?agency_id={contract.agency.id}&period=2026-Q3") == {task["id"]}
        assert await ids(city(), "?period=2027-Q1") == set()
        assert await ids(contract.agency.headers()) == {task["id"]}
        assert await ids(Agency().headers()) == set()
        assert await ids(bureau(OTHER_DISTRICT)) == set()
        r = await h.client.get(f"/api/v1/audits/{task['id']}", headers=contract.agency.headers())
        assert r.status_code == 200
        assert r.json()["total"] == 80.0
        assert (await h.client.get(f"/api/v1/audits/{task['id']}", headers=bureau(OTHER_DISTRICT))).status_code == 403


async def test_agencies_never_see_a_pending_audit_task(sqlite_backend):
    """An agency would know which client is about to be audited (issue #15): its pending tasks are
    neither listed nor shown; once completed, they are. The enterprise and the bureau see both."""
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        task = await _one_task(h, contract)
        agency = contract.agency.headers()

        async def listed(headers, query=""):
            r = await h.client.get(f"/api/v1/audits{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {t["id"] for t in r.json()["items"]}

        assert await listed(agency) == set()
        assert await listed(agency, "?status=pending") == set()
        assert await listed(agency, f"?agency_id={contract.agency.id}") == set()
        assert (await h.client.get(f"/api/v1/audits/{task['id']}", headers=agency)).status_code == 403
        assert await listed(contract.enterprise.headers()) == await listed(bureau()) == {task["id"]}
        r = await h.client.post(
            f"/api/v1/audits/{task['id']}/result", json={"scores": [{"criterion": "a", "score": 80}]}, headers=bureau()
        )
        assert r.status_code == 200
        assert await listed(agency) == {task["id"]}
        assert (await h.client.get(f"/api/v1/audits/{task['id']}", headers=agency)).json()["status"] == "completed"


async def test_agencies_graded_c_or_d_are_drawn_at_twice_the_rate(backend):
    async with audit_app(backend) as h:
        contracts = await _population(h, n_agencies=2, per_agency=10)
        watched = contracts[0].agency
        r = await h.client.post(
            f"/api/v1/credit/agencies/{watched.id}/records",
            json={"kind": "violation", "delta": -100, "reason": "伪造服务记录"},
            headers=bureau(),
        )
        assert r.status_code == 201, r.text
        r = await h.client.post("/api/v1/audits/sample", json={"period": "2027-Q1", "seed": 7}, headers=bureau())
        assert r.status_code == 201, r.text
        sample = r.json()
        assert sample["watched_agencies"] == [watched.id]
        assert sample == {**sample, "strata": _expected(contracts, "7", "2027-Q1", 0.10, sample).strata}
        for level, counts in sample["strata"].items():
            if level.endswith(":watched"):
                assert counts["drawn"] == min(counts["size"], -(-counts["size"] * 2 // 10))
        # a period next to it, not overlapping: drawn
        later = await h.client.post("/api/v1/audits/sample", json={"period": "2027-04", "seed": 7}, headers=bureau())
        assert later.status_code == 201, later.text
        assert later.json()["server_nonce"] != sample["server_nonce"]
