"""The hazard loop completed (SPEC §16): the agency rejects a rectification (back to open, the reason
kept); the district's bureau (or the city) verifies a major hazard after its own inspection; the
late-verification penalty falls on the agency only when the agency was late (D42)."""

from __future__ import annotations

from datetime import timedelta

from tests.audit.factories import (
    OTHER_DISTRICT,
    TODAY,
    admin,
    audit_app,
    bureau,
    city,
    clock_at,
    evidence,
    hazard,
    log_hazards,
)


async def _rectify(h, contract, hid):
    r = await h.client.post(
        f"/api/v1/hazards/{hid}/rectify",
        json={"note": "已整改", "attachments": await evidence(h, contract)},
        headers=contract.enterprise.headers(),
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _score(h, contract):
    return (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=admin())).json()


async def test_the_agency_rejects_a_rectification_back_to_open(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        [hid] = await log_hazards(h, contract, hazard())
        url = f"/api/v1/hazards/{hid}/reject-rectification"
        r = await h.client.post(url, json={"reason": "未整改到位"}, headers=contract.agency.headers())
        assert r.status_code == 409  # open: nothing to reject
        assert r.json()["current_status"] == "open"
        await _rectify(h, contract, hid)
        for headers in (contract.enterprise.headers(), bureau(), city(), admin()):
            r = await h.client.post(url, json={"reason": "x"}, headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(url, json={"reason": "  "}, headers=contract.agency.headers())
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "reason"
        assert (await h.client.post(url, json={}, headers=contract.agency.headers())).status_code == 422
        r = await h.client.post(url, json={"reason": "x"}, headers={**contract.agency.headers(), "If-Match": '"1"'})
        assert r.status_code == 412
        r = await h.client.post(
            url, json={"reason": "接地电阻仍超标"}, headers={**contract.agency.headers(), "If-Match": '"2"'}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "open"
        assert body["rectified_at"] is None and body["rectified_by"] is None
        assert body["rejection_reason"] == "接地电阻仍超标"
        assert body["rejected_at"] is not None
        assert body["version"] == 3
        assert r.headers["etag"] == '"3"'
        [event] = await h.events("hazard.rectification_rejected")
        assert event.data["status"] == "open"
        # the loop goes round again
        await _rectify(h, contract, hid)
        r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=contract.agency.headers())
        assert r.status_code == 200
        assert r.json()["rejection_reason"] == "接地电阻仍超标"  # the history is kept
        r = await h.client.post(url, json={"reason": "x"}, headers=contract.agency.headers())
        assert r.status_code == 409


async def test_an_overdue_rectified_hazard_may_be_rejected_not_a_never_rectified_one(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        deadline = TODAY + timedelta(days=5)
        awaiting, never = await log_hazards(h, contract, hazard(deadline=deadline), hazard(deadline=deadline))
        await _rectify(h, contract, awaiting)
        after = deadline + timedelta(days=1)
        h.clock.set(clock_at(after).now())
        assert (await h.sweep(after))["hazards_overdue"] == 2
        r = await h.client.post(
            f"/api/v1/hazards/{never}/reject-rectification", json={"reason": "x"}, headers=contract.agency.headers()
        )
        assert r.status_code == 409
        r = await h.client.post(
            f"/api/v1/hazards/{awaiting}/reject-rectification",
            json={"reason": "不合格"},
            headers=contract.agency.headers(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "open"
        assert r.json()["rectified_at"] is None


async def test_the_bureau_verifies_a_major_hazard_after_its_inspection(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        general, major, major2, major3 = await log_hazards(
            h, contract, hazard("general"), hazard("major"), hazard("major"), hazard("major")
        )
        await _rectify(h, contract, general)
        r = await h.client.post(f"/api/v1/hazards/{general}/verify", headers=bureau())
        assert r.status_code == 403  # a general hazard is the agency's to verify
        r = await h.client.post(f"/api/v1/hazards/{major}/verify", headers=bureau(OTHER_DISTRICT))
        assert r.status_code in (403, 404)
        r = await h.client.post(f"/api/v1/hazards/{major}/verify", headers=admin())
        assert r.status_code == 403
        # open: the bureau verifies it after its own inspection; the agency may not (nothing rectified)
        r = await h.client.post(f"/api/v1/hazards/{major}/verify", headers=contract.agency.headers())
        assert r.status_code == 409
        r = await h.client.post(
            f"/api/v1/hazards/{major}/verify",
            json={"note": "现场核查合格"},
            headers={**bureau(), "If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "verified"
        assert r.json()["verified_by"].startswith("bureau:")
        assert r.json()["verify_note"] == "现场核查合格"
        # rectified: the city verifies it
        await _rectify(h, contract, major2)
        r = await h.client.post(f"/api/v1/hazards/{major2}/verify", headers=city())
        assert r.status_code == 200, r.text
        assert r.json()["verified_by"].startswith("bureau:")
        r = await h.client.post(f"/api/v1/hazards/{major3}/verify", headers={**bureau(), "If-Match": '"9"'})
        assert r.status_code == 412
        verified = await h.events("hazard.verified", count=2)
        assert {e.data["id"] for e in verified} == {major, major2}


async def test_the_late_verification_penalty_falls_on_whoever_was_late(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        deadline = TODAY + timedelta(days=5)
        agency_late, enterprise_late, bureau_late, major_late = await log_hazards(
            h,
            contract,
            hazard(deadline=deadline),
            hazard(deadline=deadline),
            hazard("major", deadline=deadline),
            hazard("major", deadline=deadline),
        )
        for hid in (agency_late, bureau_late):  # rectified on time
            await _rectify(h, contract, hid)
        after = deadline + timedelta(days=2)
        h.clock.set(clock_at(after).now())
        await h.sweep(after)
        await _rectify(h, contract, enterprise_late)  # rectified late
        # the agency verifies late what was rectified on time: the agency's penalty
        r = await h.client.post(f"/api/v1/hazards/{agency_late}/verify", headers=contract.agency.headers())
        assert r.status_code == 200 and r.json()["verified_late"] is True
        # the enterprise rectified late: verified late, but not the agency's fault
        r = await h.client.post(f"/api/v1/hazards/{enterprise_late}/verify", headers=contract.agency.headers())
        assert r.status_code == 200 and r.json()["verified_late"] is True
        # the bureau verifies late (rectified on time, and never rectified): no agency penalty
        for hid in (bureau_late, major_late):
            r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=bureau())
            assert r.status_code == 200, r.text
            assert r.json()["verified_late"] is True
        credit = await _score(h, contract)
        assert credit["score"] == 99
        assert [(c["kind"], c["ref"]) for c in credit["records"]] == [("hazard_verified_late", agency_late)]


async def test_a_bureau_verification_lets_the_supervision_case_close(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        [hid] = await log_hazards(h, contract, hazard("major"))
        cases = (await h.client.get("/api/v1/supervision?limit=200", headers=city())).json()["items"]
        [case] = [c for c in cases if c["hazard_id"] == hid]
        url = f"/api/v1/supervision/{case['id']}"
        body = {"deadline": (TODAY + timedelta(days=30)).isoformat(), "measures": "停产整改", "responsible": "张三"}
        assert (await h.client.post(f"{url}/acknowledge", headers=bureau())).status_code == 200
        assert (await h.client.post(f"{url}/list", json=body, headers=bureau())).status_code == 200
        assert (await h.client.post(f"{url}/close", json={"notes": "x"}, headers=bureau())).status_code == 409
        r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=bureau())
        assert r.status_code == 200, r.text
        r = await h.client.post(f"{url}/close", json={"notes": "复查合格"}, headers=bureau())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"
