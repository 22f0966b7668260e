"""Complaints: enterprise or anonymous; forward, respond, resolve with their authorization;
overdue flags by sweep; the timeline; who sees what."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

from tests.audit.factories import OTHER_DISTRICT, TODAY, Agency, Enterprise, admin, audit_app, bureau, city, clock_at

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def complaint(agency, contract=None, **extra):
    body = {"agency_id": agency.id, "category": "service_quality", "description": "工程师检查走过场，未认真排查"}
    if contract is not None:
        body["contract_id"] = contract.id
    return body | extra


async def hear(h, contract, cid, *, response="已整改"):
    """Forward the complaint to its agency and let the agency respond (before it may be upheld)."""
    r = await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())
    assert r.status_code == 200, r.text
    r = await h.client.post(
        f"/api/v1/complaints/{cid}/respond", json={"response": response}, headers=contract.agency.headers()
    )
    assert r.status_code == 200, r.text


async def test_enterprise_complaint_lifecycle_upheld(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        agency, enterprise = contract.agency, contract.enterprise
        r = await h.client.post("/api/v1/complaints", json=complaint(agency, contract), headers=enterprise.headers())
        assert r.status_code == 201, r.text
        c = r.json()
        assert c["status"] == "received"
        assert c["anonymous"] is False
        assert c["district_code"] == contract.district_code
        assert c["tracking_code"] is None  # enterprises follow their complaints with their token
        assert c["resolve_due"] == (TODAY + timedelta(days=15)).isoformat()
        assert c["overdue"] is False
        cid = c["id"]
        # the event names the complainant, so that notify can tell it (SPEC §15)
        [received] = await h.events("complaint.received")
        assert received.data["complainant_uscc"] == enterprise.uscc
        # The agency does not see it before the bureau forwards it.
        assert (await h.client.get(f"/api/v1/complaints/{cid}", headers=agency.headers())).status_code == 403
        assert (await h.client.get("/api/v1/complaints", headers=agency.headers())).json()["items"] == []
        r = await h.client.post(f"/api/v1/complaints/{cid}/respond", json={"response": "x"}, headers=agency.headers())
        assert r.status_code == 409

        r = await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())
        assert r.status_code == 200
        assert r.json()["status"] == "forwarded"
        assert r.json()["response_due"] == (TODAY + timedelta(days=10)).isoformat()
        forwarded = (await h.events("complaint.forwarded"))[0]
        assert forwarded.data["agency_id"] == agency.id
        assert forwarded.data["response_due"] == r.json()["response_due"]
        queue = (await h.client.get("/api/v1/complaints", headers=agency.headers())).json()["items"]
        assert [q["id"] for q in queue] == [cid]

        r = await h.client.post(
            f"/api/v1/complaints/{cid}/respond", json={"response": "已整改，加强检查"}, headers=agency.headers()
        )
        assert r.status_code == 200
        assert r.json()["status"] == "responded"
        r = await h.client.post(
            f"/api/v1/complaints/{cid}/resolve", json={"outcome": "upheld", "notes": "投诉属实"}, headers=bureau()
        )
        assert r.status_code == 200
        assert r.json()["status"] == "closed"
        assert r.json()["outcome"] == "upheld"
        again = await h.client.post(
            f"/api/v1/complaints/{cid}/resolve", json={"outcome": "dismissed"}, headers=bureau()
        )
        assert again.status_code == 409

        detail = (await h.client.get(f"/api/v1/complaints/{cid}", headers=enterprise.headers())).json()
        assert [s["action"] for s in detail["timeline"]] == ["received", "forwarded", "responded", "closed:upheld"]
        assert [s["status"] for s in detail["timeline"]] == ["received", "forwarded", "responded", "closed"]
        assert detail["timeline"][0]["actor"].startswith("enterprise:")
        assert detail["timeline"][2]["note"] == "已整改，加强检查"
        closed = (await h.events("complaint.closed"))[0]
        assert closed.data["outcome"] == "upheld"
        assert closed.data["version"] == 4
        credit = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=enterprise.headers())).json()
        assert credit["score"] == 90
        assert credit["records"][0]["kind"] == "complaint_upheld"
        assert credit["records"][0]["ref"] == cid
        # the upheld complaint links to the credit record it caused (and the record names the complaint)
        assert r.json()["credit_record_id"] == credit["records"][0]["id"]
        assert detail["credit_record_id"] == credit["records"][0]["id"]
        change = (await h.events("agency.credit_changed"))[0]
        assert change.data == {
            "id": agency.id,
            "version": 1,
            "score": 90,
            "grade": "A",
            "delta": -10,
            "cause": f"complaint_upheld:{cid}",
        }
        trail = (await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        assert trail["valid"] is None and trail["reason"] == "witness_unavailable"  # no witness here
        assert trail["entries"] == 1


async def test_anonymous_complaint(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency(district_code=OTHER_DISTRICT)
        await h.feed(agency)
        r = await h.client.post("/api/v1/complaints", json=complaint(agency))
        assert r.status_code == 422
        assert r.json()["code"] == "contact_phone_required"
        for phone in ("12345", "139123456789", "abc"):
            r = await h.client.post("/api/v1/complaints", json=complaint(agency, contact_phone=phone))
            assert r.status_code == 422, phone
            assert r.json()["errors"][0]["field"] == "contact_phone", phone
        r = await h.client.post(
            "/api/v1/complaints", json=complaint(agency, contact_phone="13912345678", category="fraud")
        )
        assert r.status_code == 201, r.text
        c = r.json()
        assert c["anonymous"] is True
        assert c["district_code"] == OTHER_DISTRICT
        assert c["contact_phone"] is None
        assert (await h.client.get(f"/api/v1/complaints/{c['id']}")).status_code == 401  # the public cannot read
        # ...but follows up with the tracking code it was given once.
        code = c["tracking_code"]
        assert code
        assert len(code) >= 16
        tracked = await h.client.post("/api/v1/complaints/track", json={"id": c["id"], "tracking_code": code})
        assert tracked.status_code == 200
        assert tracked.json()["status"] == "received"
        assert [s["action"] for s in tracked.json()["timeline"]] == ["received"]
        assert "actor" not in tracked.json()["timeline"][0]
        for wrong in (
            {"id": c["id"], "tracking_code": code[:-1] + ("A" if code[-1] != "A" else "B")},
            {"id": "0190f000-0000-7000-8000-000000000000", "tracking_code": code},
        ):
            assert (await h.client.post("/api/v1/complaints/track", json=wrong)).status_code == 404
        assert (await h.client.post("/api/v1/complaints/track", json={"id": c["id"]})).status_code == 422
        stored = (await h.client.get(f"/api/v1/complaints/{c['id']}", headers=city())).json()
        assert stored["tracking_code"] is None
        assert (
            await h.client.post(f"/api/v1/complaints/{c['id']}/forward", json={}, headers=bureau())
        ).status_code == 403
        seen = await h.client.get(f"/api/v1/complaints/{c['id']}", headers=bureau(OTHER_DISTRICT))
        assert seen.json()["contact_phone"] == "13912345678"
        r = await h.client.post(
            f"/api/v1/complaints/{c['id']}/forward", json={"note": "请核实"}, headers=bureau(OTHER_DISTRICT)
        )
        assert r.status_code == 200
        by_agency = (await h.client.get(f"/api/v1/complaints/{c['id']}", headers=agency.headers())).json()
        assert by_agency["contact_phone"] is None
        assert by_agency["complainant_uscc"] is None
        # Dismissed: no credit change.
        r = await h.client.post(
            f"/api/v1/complaints/{c['id']}/resolve", json={"outcome": "dismissed", "notes": "不属实"}, headers=city()
        )
        assert r.status_code == 200
        credit = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=admin())).json()
        assert credit == {"agency_id": agency.id, "score": 100, "grade": "A", "version": 0, "records": []}
        tracked = (await h.client.post("/api/v1/complaints/track", json={"id": c["id"], "tracking_code": code})).json()
        assert tracked["status"] == "closed"
        assert tracked["outcome"] == "dismissed"
        assert tracked["notes"] == "不属实"


async def test_submission_rules(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = await h.setup()
        e = contract.enterprise.headers()
        cases = [
            (complaint(contract.agency, description="x" * 2001), 422, "validation_failed"),
            (complaint(contract.agency, description=" "), 422, "validation_failed"),
            (complaint(contract.agency, category="rude"), 422, "validation_failed"),
            (complaint(Agency()), 422, "unknown_agency"),
            (complaint(contract.agency, contract_id="0190f000-0000-7000-8000-000000000000"), 422, "unknown_contract"),
            (complaint(contract.agency, other), 422, "contract_agency_mismatch"),
            (complaint(other.agency, other), 422, "contract_not_yours"),
        ]
        for body, status, code in cases:
            r = await h.client.post("/api/v1/complaints", json=body, headers=e)
            assert (r.status_code, r.json().get("code")) == (status, code), (body, r.text)
        for headers in (contract.agency.headers(), bureau(), admin()):
            r = await h.client.post("/api/v1/complaints", json=complaint(contract.agency), headers=headers)
            assert r.status_code == 403
        # Without a contract, the complaining enterprise's district decides.
        far = Enterprise(district_code=OTHER_DISTRICT)
        await h.feed(far)
        r = await h.client.post("/api/v1/complaints", json=complaint(contract.agency), headers=far.headers())
        assert r.status_code == 201
        assert r.json()["district_code"] == OTHER_DISTRICT
        r = await h.client.post(
            "/api/v1/complaints", json=complaint(contract.agency, description="x" * 2000), headers=e
        )
        assert r.status_code == 201


async def test_verbs_authorization(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = await h.setup()
        r = await h.client.post(
            "/api/v1/complaints", json=complaint(contract.agency, contract), headers=contract.enterprise.headers()
        )
        cid = r.json()["id"]
        for headers in (bureau(OTHER_DISTRICT), contract.agency.headers(), contract.enterprise.headers()):
            r = await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=headers)
            assert r.status_code == 403, r.text
        assert (
            await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers={**bureau(), "If-Match": '"3"'})
        ).status_code == 412
        assert (await h.client.post(f"/api/v1/complaints/{cid}/forward", headers=bureau())).status_code == 200
        assert (await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())).status_code == 409
        for headers in (other.agency.headers(), bureau(), contract.enterprise.headers()):
            r = await h.client.post(f"/api/v1/complaints/{cid}/respond", json={"response": "x"}, headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(
            f"/api/v1/complaints/{cid}/respond", json={"response": ""}, headers=contract.agency.headers()
        )
        assert r.status_code == 422
        for headers in (bureau(OTHER_DISTRICT), contract.agency.headers(), contract.enterprise.headers()):
            r = await h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "upheld"}, headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "maybe"}, headers=bureau())
        assert r.status_code == 422
        # Upheld only once the agency was heard (tests/audit/test_complaints.py
        # test_upheld_only_once_the_agency_was_heard); dismissed without waiting for its response.
        r = await h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "upheld"}, headers=city())
        assert r.status_code == 409
        r = await h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "dismissed"}, headers=city())
        assert r.status_code == 200
        r = await h.client.post(
            f"/api/v1/complaints/{cid}/respond", json={"response": "晚了"}, headers=contract.agency.headers()
        )
        assert r.status_code == 409
        assert (
            await h.client.post(
                "/api/v1/complaints/0190f000-0000-7000-8000-000000000000/forward", json={}, headers=city()
            )
        ).status_code == 404


async def test_overdue_flags_by_sweep(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        e = contract.enterprise.headers()
        ids = []
        for _ in range(3):
            r = await h.client.post("/api/v1/complaints", json=complaint(contract.agency, contract), headers=e)
            ids.append(r.json()["id"])
        late_response, late_resolution, closed = ids
        await h.client.post(f"/api/v1/complaints/{late_response}/forward", json={}, headers=bureau())
        await h.client.post(f"/api/v1/complaints/{closed}/resolve", json={"outcome": "dismissed"}, headers=bureau())

        day10 = TODAY + timedelta(days=10)
        result = await h.sweep(day10)
        assert result["complaints_response_overdue"] == 0
        assert result["complaints_resolution_overdue"] == 0
        day11 = TODAY + timedelta(days=11)
        results = await asyncio.gather(h.sweep(day11), h.sweep(day11))
        assert sum(r["complaints_response_overdue"] for r in results) == 1
        assert sum(r["complaints_resolution_overdue"] for r in results) == 0

        async def listed(query):
            r = await h.client.get(f"/api/v1/complaints{query}", headers=bureau())
            assert r.status_code == 200, r.text
            return {c["id"] for c in r.json()["items"]}

        assert await listed("?overdue=true") == {late_response}
        assert await listed("?overdue=false") == {late_resolution, closed}
        h.clock.set(clock_at(TODAY + timedelta(days=16)).now())
        result = await h.sweep(TODAY + timedelta(days=16))
        assert result["complaints_resolution_overdue"] == 2
        assert result["complaints_response_overdue"] == 0
        assert await listed("?overdue=true") == {late_response, late_resolution}
        detail = (await h.client.get(f"/api/v1/complaints/{late_response}", headers=bureau())).json()
        assert detail["response_overdue"]
        assert detail["resolution_overdue"]
        assert detail["overdue"]
        assert [s["action"] for s in detail["timeline"]] == [
            "received",
            "forwarded",
            "response_overdue",
            "resolution_overdue",
        ]
        # A late response is still accepted; the flag stays as a record that it was late.
        r = await h.client.post(
            f"/api/v1/complaints/{late_response}/respond", json={"response": "迟复"}, headers=contract.agency.headers()
        )
        assert r.status_code == 200
        assert r.json()["overdue"] is True
        assert (await h.sweep(TODAY + timedelta(days=30)))["complaints_resolution_overdue"] == 0


async def test_who_sees_which_complaints(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        near = await h.setup()
        far = await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        a = (
            await h.client.post(
                "/api/v1/complaints", json=complaint(near.agency, near), headers=near.enterprise.headers()
            )
        ).json()
        b = (
            await h.client.post("/api/v1/complaints", json=complaint(far.agency, far), headers=far.enterprise.headers())
        ).json()
        await h.client.post(f"/api/v1/complaints/{b['id']}/forward", json={}, headers=city())

        async def listed(headers, query=""):
            r = await h.client.get(f"/api/v1/complaints{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {c["id"] for c in r.json()["items"]}

        assert await listed(city()) == await listed(admin()) == {a["id"], b["id"]}
        assert await listed(bureau()) == {a["id"]}
        assert await listed(bureau(OTHER_DISTRICT)) == {b["id"]}
        assert await listed(near.enterprise.headers()) == {a["id"]}
        assert await listed(far.enterprise.headers()) == {b["id"]}
        assert await listed(near.agency.headers()) == set()  # not forwarded yet
        assert await listed(far.agency.headers()) == {b["id"]}
        assert await listed(city(), "?status=forwarded") == {b["id"]}
        assert await listed(city(), f"?agency_id={near.agency.id}") == {a["id"]}
        assert (await h.client.get("/api/v1/complaints")).status_code == 401
        assert (await h.client.get("/api/v1/complaints?status=lost", headers=city())).status_code == 422
        assert (
            await h.client.get(f"/api/v1/complaints/{a['id']}", headers=far.enterprise.headers())
        ).status_code == 403
        assert (await h.client.get(f"/api/v1/complaints/{a['id']}", headers=bureau(OTHER_DISTRICT))).status_code == 403
        r = await h.client.get(f"/api/v1/complaints/{a['id']}", headers=bureau())
        assert r.status_code == 200
        assert r.headers["etag"] == '"1"'
        assert len(r.json()["timeline"]) == 1


async def test_concurrent_upheld_complaints_each_count_once(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        ids = []
        for _ in range(3):
            r = await h.client.post(
                "/api/v1/complaints", json=complaint(contract.agency, contract), headers=contract.enterprise.headers()
            )
            ids.append(r.json()["id"])
            await hear(h, contract, ids[-1])
        results = await asyncio.gather(
            *[
                h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "upheld"}, headers=bureau())
                for cid in ids
            ]
        )
        assert [r.status_code for r in results] == [200, 200, 200]
        credit = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=bureau())).json()
        assert credit["score"] == 70
        assert credit["grade"] == "C"
        assert credit["version"] == 3
        assert sorted(r["version"] for r in credit["records"]) == [1, 2, 3]
        changes = await h.events("agency.credit_changed", count=3)
        assert sorted((e.data["version"], e.data["score"]) for e in changes) == [(1, 90), (2, 80), (3, 70)]


async def test_upheld_only_once_the_agency_was_heard(backend):
    """SPEC §19: a complaint is upheld only after it was forwarded to the agency and the agency
    responded or its response is overdue (409 ``complaint_not_heard`` otherwise); dismissing needs
    neither."""
    async with audit_app(backend) as h:
        contract = await h.setup()
        e = contract.enterprise.headers()

        async def new_complaint():
            r = await h.client.post("/api/v1/complaints", json=complaint(contract.agency, contract), headers=e)
            assert r.status_code == 201, r.text
            return r.json()["id"]

        async def uphold(cid, **headers):
            return await h.client.post(
                f"/api/v1/complaints/{cid}/resolve",
                json={"outcome": "upheld", "notes": "属实"},
                headers={**bureau(), **headers},
            )

        never_forwarded, unanswered, answered, late, dismissed = [await new_complaint() for _ in range(5)]
        r = await uphold(never_forwarded)
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "complaint_not_heard"
        assert "通报" in r.json()["detail"] and "答复" in r.json()["detail"]
        en = (await uphold(never_forwarded, **{"Accept-Language": "en"})).json()
        assert en["code"] == "complaint_not_heard"
        assert "forwarded" in en["detail"] and "responded" in en["detail"] and "overdue" in en["detail"]
        assert not CHINESE.search(en["detail"])

        for cid in (unanswered, late):
            r = await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())
            assert r.status_code == 200, r.text
        r = await uphold(unanswered)  # forwarded, the agency not heard yet, its time not up
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "complaint_not_heard"
        # a 403 is still a 403, and the rule comes after If-Match
        assert (await uphold(unanswered, **contract.agency.headers())).status_code == 403
        assert (await uphold(unanswered, **{"If-Match": '"1"'})).status_code == 412

        await hear(h, contract, answered)
        r = await uphold(answered)
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "upheld"

        # the response is overdue: after response_due, flagged by the sweep or not yet
        response_due = (await h.client.get(f"/api/v1/complaints/{late}", headers=bureau())).json()["response_due"]
        due = date.fromisoformat(response_due)
        h.clock.set(clock_at(due).now())
        assert (await uphold(late)).status_code == 409  # on the due day the agency may still answer
        h.clock.set(clock_at(due + timedelta(days=1)).now())
        r = await uphold(late)
        assert r.status_code == 200, r.text
        assert r.json()["response_overdue"] is False  # not flagged yet: the date is what counts
        r = await uphold(unanswered)
        assert r.status_code == 200, r.text

        r = await h.client.post(
            f"/api/v1/complaints/{dismissed}/resolve", json={"outcome": "dismissed"}, headers=bureau()
        )
        assert r.status_code == 200, r.text
        assert r.json()["credit_record_id"] is None
        # never forwarded, never upheld
        assert (await h.client.get(f"/api/v1/complaints/{never_forwarded}", headers=bureau())).json()[
            "status"
        ] == "received"

        credit = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=bureau())).json()
        assert credit["score"] == 70
        by_ref = {rec["ref"]: rec for rec in credit["records"]}
        assert set(by_ref) == {answered, late, unanswered}
        for cid in (answered, late, unanswered):
            shown = (await h.client.get(f"/api/v1/complaints/{cid}", headers=bureau())).json()
            assert shown["credit_record_id"] == by_ref[cid]["id"]
            assert by_ref[cid]["kind"] == "complaint_upheld"


async def test_upheld_after_the_sweep_flagged_the_response_overdue(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        r = await h.client.post(
            "/api/v1/complaints", json=complaint(contract.agency, contract), headers=contract.enterprise.headers()
        )
        cid = r.json()["id"]
        await h.client.post(f"/api/v1/complaints/{cid}/forward", json={}, headers=bureau())
        assert (await h.sweep(TODAY + timedelta(days=11)))["complaints_response_overdue"] == 1
        r = await h.client.post(f"/api/v1/complaints/{cid}/resolve", json={"outcome": "upheld"}, headers=bureau())
        assert r.status_code == 200, r.text
        assert r.json()["response_overdue"] is True
        assert r.json()["credit_record_id"]
