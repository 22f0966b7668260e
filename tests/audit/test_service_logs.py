"""Service logs: recorded by the contract's agency for an active contract, with hazards; the
enterprise countersigns; idempotent retries; visibility."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from tests.audit.factories import OTHER_DISTRICT, TODAY, Agency, admin, audit_app, bureau, city, hazard, service_log


async def test_agency_records_a_visit_with_hazards_and_events_follow(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        body = service_log(contract, hazards=[hazard("major", deadline=TODAY + timedelta(days=90)), hazard("general")])
        r = await h.client.post("/api/v1/service-logs", json=body, headers=contract.agency.headers())
        assert r.status_code == 201, r.text
        log = r.json()
        assert log["status"] == "recorded"
        assert log["confirmed"] is False
        assert log["agency_id"] == contract.agency.id
        assert log["district_code"] == contract.district_code
        assert [hz["status"] for hz in log["hazards"]] == ["open", "open"]
        assert r.headers["etag"] == '"1"'

        recorded = await h.events("servicelog.recorded")
        assert recorded[0].data["id"] == log["id"]
        assert recorded[0].source == "/audit"
        reported = await h.events("hazard.reported", count=2)
        assert sorted(e.data["level"] for e in reported) == ["general", "major"]
        major = next(e for e in reported if e.data["level"] == "major")
        assert major.data["status"] == "open"
        assert major.data["district_code"] == contract.district_code
        assert major.data["enterprise_uscc"] == contract.enterprise.uscc

        # The enterprise countersigns, once.
        r = await h.client.post(f"/api/v1/service-logs/{log['id']}/confirm", headers=contract.enterprise.headers())
        assert r.status_code == 200, r.text
        assert r.json()["confirmed"] is True
        assert r.json()["status"] == "confirmed"
        confirmed = await h.events("servicelog.confirmed")
        assert confirmed[0].data["confirmed"] is True
        assert confirmed[0].data["version"] == 2
        r = await h.client.post(f"/api/v1/service-logs/{log['id']}/confirm", headers=contract.enterprise.headers())
        assert r.status_code == 409


async def test_retry_with_idempotency_key_replays_and_natural_duplicate_is_409(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        body = service_log(contract, hazards=[hazard("major")])
        headers = {**contract.agency.headers(), "Idempotency-Key": "visit-2026-06-01"}
        first = await h.client.post("/api/v1/service-logs", json=body, headers=headers)
        again = await h.client.post("/api/v1/service-logs", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        # Same key, another body: 422.
        other = await h.client.post("/api/v1/service-logs", json={**body, "summary": "另一次"}, headers=headers)
        assert other.status_code == 422
        # The same visit without a key: 409 naming the existing record.
        dup = await h.client.post("/api/v1/service-logs", json=body, headers=contract.agency.headers())
        assert dup.status_code == 409
        assert dup.json()["code"] == "duplicate_service_log"
        assert dup.json()["existing_id"] == first.json()["id"]
        listing = await h.client.get(f"/api/v1/service-logs?contract_id={contract.id}", headers=admin())
        assert len(listing.json()["items"]) == 1
        assert len(await h.events("hazard.reported")) == 1


async def test_contract_must_be_active_and_the_callers(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        filed = await h.setup(status="filed", agency=contract.agency)
        stranger = Agency()
        await h.feed(stranger)
        r = await h.client.post("/api/v1/service-logs", json=service_log(filed), headers=contract.agency.headers())
        assert r.status_code == 422
        assert r.json()["code"] == "contract_not_active"
        assert r.json()["detail"] == "合同状态为 filed，不是履行中"  # zh-CN first
        r = await h.client.post(
            "/api/v1/service-logs",
            json=service_log(filed),
            headers={**contract.agency.headers(), "Accept-Language": "en"},
        )
        assert r.json()["detail"] == "The contract is filed, not active"
        assert r.json()["errors"] == [{"field": "contract_id", "message": "contract not active"}]
        r = await h.client.post("/api/v1/service-logs", json=service_log(contract), headers=stranger.headers())
        assert r.status_code == 403
        for headers in (contract.enterprise.headers(), bureau(), admin()):
            r = await h.client.post("/api/v1/service-logs", json=service_log(contract), headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post("/api/v1/service-logs", json=service_log(contract))
        assert r.status_code == 401
        assert "Bearer" in r.headers["www-authenticate"]
        unknown = service_log(contract) | {"contract_id": "0190f000-0000-7000-8000-000000000000"}
        r = await h.client.post("/api/v1/service-logs", json=unknown, headers=contract.agency.headers())
        assert r.status_code == 422
        assert r.json()["code"] == "unknown_contract"
        # Suspended later: no more logs.
        await h.publish("contract.suspended", contract.event(status="suspended", version=contract.version + 1))

        async def refused():
            r = await h.client.post(
                "/api/v1/service-logs", json=service_log(contract, summary="晚些"), headers=contract.agency.headers()
            )
            return r.status_code == 422 and r.json()["code"] == "contract_not_active"

        await eventually(refused)


RULES = [
    (
        "visit in the future",
        {"visit_date": (TODAY + timedelta(days=1)).isoformat()},
        "visit_date_in_future",
        "visit_date",
    ),
    ("visit before the term", {"visit_date": "2025-12-31"}, "visit_date_outside_term", "visit_date"),
    ("item not contracted", {"items": ["emergency_plan"]}, "item_not_in_contract", "items.0"),
    (
        "general deadline too far",
        {"hazards": [hazard("general", deadline=TODAY + timedelta(days=31))]},
        "hazard_deadline_out_of_policy",
        "hazards.0.deadline",
    ),
    (
        "major deadline too far",
        {"hazards": [hazard("major", deadline=TODAY + timedelta(days=91))]},
        "hazard_deadline_out_of_policy",
        "hazards.0.deadline",
    ),
    (
        "deadline on the visit day",
        {"hazards": [hazard("general", deadline=TODAY)]},
        "hazard_deadline_out_of_policy",
        "hazards.0.deadline",
    ),
    ("no engineer", {"engineer_name": "  "}, "validation_failed", "engineer_name"),
    ("no items", {"items": []}, "validation_failed", "items"),
    ("unknown item", {"items": ["karaoke"]}, "validation_failed", "items.0"),
    ("duplicate items", {"items": ["hazard_inspection", "hazard_inspection"]}, "validation_failed", "items"),
    ("bad hazard level", {"hazards": [hazard("catastrophic")]}, "validation_failed", "hazards.0.level"),
    ("no summary", {"summary": ""}, "validation_failed", "summary"),
    ("bad date", {"visit_date": "2026-02-30"}, "validation_failed", "visit_date"),
    ("unknown field", {"mood": "good"}, "validation_failed", "mood"),
    ("bad contract id", {"contract_id": "nope"}, "validation_failed", "contract_id"),
]


async def test_rules_each_get_422_naming_the_rule(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        for name, change, code, field in RULES:
            r = await h.client.post(
                "/api/v1/service-logs", json=service_log(contract) | change, headers=contract.agency.headers()
            )
            assert r.status_code == 422, (name, r.text)
            assert r.json()["code"] == code, (name, r.json())
            assert field in [e["field"] for e in r.json()["errors"]], (name, r.json())
        # The limits themselves are allowed.
        ok = service_log(
            contract,
            hazards=[
                hazard("general", deadline=TODAY + timedelta(days=30)),
                hazard("major", deadline=TODAY + timedelta(days=90)),
            ],
        )
        r = await h.client.post("/api/v1/service-logs", json=ok, headers=contract.agency.headers())
        assert r.status_code == 201, r.text
        # Not JSON, wrong content type: 400 / 415, never 500.
        r = await h.client.post(
            "/api/v1/service-logs",
            content=b"{",
            headers={**contract.agency.headers(), "content-type": "application/json"},
        )
        assert r.status_code == 400
        r = await h.client.post(
            "/api/v1/service-logs", content=b"x=1", headers={**contract.agency.headers(), "content-type": "text/plain"}
        )
        assert r.status_code == 415


async def test_visibility_of_service_logs(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = await h.setup()
        r = await h.client.post("/api/v1/service-logs", json=service_log(contract), headers=contract.agency.headers())
        log_id = r.json()["id"]
        await h.client.post("/api/v1/service-logs", json=service_log(other), headers=other.agency.headers())
        allowed = [
            contract.agency.headers(),
            contract.enterprise.headers(),
            bureau(contract.district_code),
            city(),
            admin(),
        ]
        denied = [other.agency.headers(), other.enterprise.headers(), bureau(OTHER_DISTRICT)]
        for headers in allowed:
            assert (await h.client.get(f"/api/v1/service-logs/{log_id}", headers=headers)).status_code == 200
        for headers in denied:
            assert (await h.client.get(f"/api/v1/service-logs/{log_id}", headers=headers)).status_code == 403
        assert (await h.client.get(f"/api/v1/service-logs/{log_id}")).status_code == 401
        assert (
            await h.client.get("/api/v1/service-logs/0190f000-0000-7000-8000-000000000000", headers=admin())
        ).status_code == 404

        async def ids(headers, query=""):
            r = await h.client.get(f"/api/v1/service-logs{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {i["id"] for i in r.json()["items"]}

        assert await ids(contract.agency.headers()) == {log_id}
        assert await ids(contract.enterprise.headers()) == {log_id}
        assert await ids(bureau(OTHER_DISTRICT)) == set()
        assert len(await ids(city())) == 2
        assert await ids(admin(), f"?contract_id={contract.id}") == {log_id}
        assert await ids(admin(), f"?from={(TODAY + timedelta(days=1)).isoformat()}") == set()
        assert len(await ids(admin(), f"?from={TODAY.isoformat()}&to={TODAY.isoformat()}")) == 2
        # Only the contract's enterprise countersigns.
        for headers in (other.enterprise.headers(), contract.agency.headers(), bureau()):
            r = await h.client.post(f"/api/v1/service-logs/{log_id}/confirm", headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(
            f"/api/v1/service-logs/{log_id}/confirm", headers={**contract.enterprise.headers(), "If-Match": '"7"'}
        )
        assert r.status_code == 412
        # Paging: limit 1 walks both.
        page = await h.client.get("/api/v1/service-logs?limit=1", headers=city())
        nxt = await h.client.get(f"/api/v1/service-logs?limit=1&cursor={page.json()['next_cursor']}", headers=city())
        assert {page.json()["items"][0]["id"], nxt.json()["items"][0]["id"]} == await ids(city())
        assert (await h.client.get("/api/v1/service-logs?cursor=garbage", headers=city())).status_code == 422
        assert (
            await h.client.get("/api/v1/service-logs", headers=auth("bureau", district="440703", scope="custody.read"))
        ).status_code == 200


async def test_concurrent_twins_record_one_visit(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        body = service_log(contract, hazards=[hazard("major")])
        results = await asyncio.gather(
            *[h.client.post("/api/v1/service-logs", json=body, headers=contract.agency.headers()) for _ in range(4)]
        )
        assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
        created = next(r for r in results if r.status_code == 201).json()
        assert {r.json()["existing_id"] for r in results if r.status_code == 409} == {created["id"]}
