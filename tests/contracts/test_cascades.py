"""Cascades driven by real events on the bus, on both backends: an agency suspended, reinstated,
revoked; an enterprise's risk raised above what a contract's inspections meet (and lowered again);
stale and duplicate events change nothing."""

from __future__ import annotations

import asyncio
from datetime import date

from devtools.testing.events import publish_event, read_events
from devtools.testing.wait import eventually
from tests.contracts.factories import TODAY, new_uscc, world


async def _status(w, cid: str, status: str) -> dict:
    async def check():
        c = await w.get(cid)
        return c if c["status"] == status else None

    return await eventually(check, timeout=15)


async def _types(settings, cid: str, n: int) -> list[str]:
    async def check():
        events = [e.type for e in await read_events(settings) if e.subject == cid]
        return events if len(events) >= n else None

    return await eventually(check, timeout=15)


async def test_agency_suspension_reinstatement_and_revocation(backend):
    settings = backend.settings()
    async with world(settings) as w:
        active = await w.active()
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event(version=1)
        filed = await w.filed(start=date(2026, 6, 1), end=date(2027, 5, 31))
        assert filed["status"] == "filed"
        w.enterprise_uscc = new_uscc()
        await w.enterprise_event(version=1)
        draft = await w.create()

        await w.agency_event("agency.suspended", reason="年度检查不合格")
        a = await _status(w, active["id"], "suspended")
        f = await _status(w, filed["id"], "suspended")
        assert a["previous_status"] == "active"
        assert f["previous_status"] == "filed"
        assert a["history"][-1]["actor"] == "system:agency.suspended"
        assert "年度检查不合格" in a["history"][-1]["reason"]
        assert (await w.get(draft["id"]))["status"] == "draft"  # drafts are not in force: untouched
        # a suspended agency's draft cannot become signed
        await w.sign(draft["id"], w.agency())
        r = await w.sign(draft["id"], w.enterprise())
        assert r.status_code == 422
        assert r.json()["code"] == "agency_not_approved"

        await w.agency_event("agency.reinstated")
        a = await _status(w, active["id"], "active")
        f = await _status(w, filed["id"], "filed")
        assert a["previous_status"] is None
        assert a["history"][-1]["from"] == "suspended"

        await w.agency_event("agency.suspended")
        await _status(w, active["id"], "suspended")
        await w.agency_event("agency.revoked", reason="提供虚假材料")
        a = await _status(w, active["id"], "terminated")
        f = await _status(w, filed["id"], "terminated")
        assert "提供虚假材料" in a["end_reason"]
        assert a["history"][-1]["from"] == "suspended"

        assert await _types(settings, active["id"], 9) == [
            "contract.drafted",
            "contract.signed",
            "contract.filing_submitted",
            "contract.filed",
            "contract.activated",
            "contract.suspended",
            "contract.activated",
            "contract.suspended",
            "contract.terminated",
        ]
        assert await _types(settings, filed["id"], 8) == [
            "contract.drafted",
            "contract.signed",
            "contract.filing_submitted",
            "contract.filed",
            "contract.suspended",
            "contract.filed",
            "contract.suspended",
            "contract.terminated",
        ]
        events = [e for e in await read_events(settings, event_type="contract.terminated") if e.subject == active["id"]]
        assert events[0].data["reason"]
        assert "revoked" in events[0].data["reason"]
        r = await w.client.get("/api/v1/admin/audit-trail/verify", headers=w.admin())
        assert r.json()["valid"] is None and r.json()["reason"] == "witness_unavailable"  # no witness here


async def test_stale_and_duplicate_agency_events_change_nothing(sqlite_backend):
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        active = await w.active()
        before = w.app.state.runtime.subscriber.processed_total
        # An old suspension (version 1 < the approval's 3) arrives late: ignored.
        await w.agency_event("agency.suspended", version=1, wait=False)
        # The approval again, same version, as a duplicate delivery under another message id.
        data = await w.agency_event("agency.approved", version=w.agency_version, wait=False)
        await publish_event(settings, "agency.approved", data)
        await eventually(lambda: w.app.state.runtime.subscriber.processed_total >= before + 3, timeout=15)
        await asyncio.sleep(0.2)
        c = await w.get(active["id"])
        assert c["status"] == "active"
        assert c["version"] == active["version"]


async def test_enterprise_risk_raised_flags_the_contract_and_lowered_clears_it(backend):
    settings = backend.settings()
    async with world(settings) as w:  # yellow enterprise: 4 inspections a year is enough
        active = await w.active(inspections=6)
        await w.enterprise_event("enterprise.risk_changed", risk_level="orange")  # needs 6: still met
        await asyncio.sleep(0.2)
        assert (await w.get(active["id"]))["risk_flagged"] is False

        await w.enterprise_event("enterprise.risk_changed", risk_level="red")  # needs 12
        c = await eventually(lambda: _flagged(w, active["id"], True), timeout=15)
        assert c["status"] == "active"
        assert c["history"][-1]["from"] == c["history"][-1]["to"] == "active"
        assert "red" in c["history"][-1]["reason"]
        # the bureau finds it
        r = await w.client.get("/api/v1/contracts", headers=w.bureau())
        assert [x["risk_flagged"] for x in r.json()["items"]] == [True]
        r = await w.client.get("/api/v1/contracts", params={"risk_flagged": "true"}, headers=w.bureau())
        assert [x["id"] for x in r.json()["items"]] == [active["id"]]
        r = await w.client.get("/api/v1/contracts", params={"risk_flagged": "false"}, headers=w.bureau())
        assert r.json()["items"] == []

        await w.enterprise_event("enterprise.updated", risk_level="yellow")
        c = await eventually(lambda: _flagged(w, active["id"], False), timeout=15)

        async def flagged_events():  # the flag is read before the relay has published its event: wait for both
            evs = [e for e in await read_events(settings, event_type="contract.flagged") if e.subject == active["id"]]
            return evs if len(evs) >= 2 else None

        flagged = await eventually(flagged_events, timeout=15)
        assert [e.data["risk_flagged"] for e in flagged] == [True, False]
        assert flagged[0].data["version"] < flagged[1].data["version"]
        assert flagged[0].data["district_code"] == "440703"

        # new contracts are checked against the current level
        await w.enterprise_event("enterprise.risk_changed", risk_level="red")
        await eventually(lambda: _flagged(w, active["id"], True), timeout=15)
        w.enterprise_uscc, other = new_uscc(), w.enterprise_uscc
        await w.enterprise_event(version=1, risk_level="red", industry="hazardous_chemicals")
        r = await w.client.post(
            "/api/v1/contracts",
            json=w.body(inspections=6, start=date(2026, 5, 1), end=date(2027, 4, 30)),
            headers=w.agency(),
        )
        assert r.status_code == 422
        assert r.json()["code"] == "inspection_below_minimum"
        assert other != w.enterprise_uscc
        assert TODAY


async def _flagged(w, cid: str, flag: bool):
    c = await w.get(cid)
    return c if c["risk_flagged"] is flag else None


async def test_a_suspended_contract_can_only_be_terminated(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        c = await w.active()
        await w.agency_event("agency.suspended")
        await _status(w, c["id"], "suspended")
        attempts = [
            ("sign", w.enterprise(), {"content_sha256": c["content_sha256"]}),
            ("file", w.agency(), None),
            ("cancel", w.agency(), None),
            ("filing-review", w.bureau(), {"decision": "accept"}),
        ]
        for verb, headers, body in attempts:
            r = await w.post(c["id"], verb, headers, body)
            assert r.status_code == 409, (verb, r.text)
            assert r.json()["current_status"] == "suspended", (verb, r.text)
        r = await w.client.patch(f"/api/v1/contracts/{c['id']}", json={"fee_yuan": "1.00"}, headers=w.agency())
        assert r.status_code == 409
        r = await w.post(c["id"], "terminate", w.bureau(), {"reason": "机构停业，企业另行委托"})
        assert r.status_code == 200
        assert r.json()["status"] == "terminated"
        assert r.json()["previous_status"] is None
        # reinstating the agency later does not revive it
        await w.agency_event("agency.reinstated")
        assert (await w.get(c["id"]))["status"] == "terminated"


async def test_live_contracts_follow_the_enterprise_to_another_district(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        c = await w.filing()
        done = await w.create(start=date(2029, 1, 1), end=date(2029, 12, 31))
        await w.post(done["id"], "cancel", w.agency())
        await w.enterprise_event("enterprise.updated", district="440704", name="江门市江海区示例五金厂")
        moved = await w.get(c["id"])
        assert moved["district_code"] == "440704"
        assert moved["enterprise_name"] == "江门市江海区示例五金厂"
        assert moved["version"] == c["version"] + 1
        assert "440704" in moved["history"][-1]["reason"]
        assert (await w.get(done["id"]))["district_code"] == "440703"  # a cancelled contract keeps its record
        # the old district's bureau no longer governs it; the new one does
        r = await w.post(c["id"], "filing-review", w.bureau("440703"), {"decision": "accept"})
        assert r.status_code == 403
        r = await w.post(c["id"], "filing-review", w.bureau("440704"), {"decision": "accept"})
        assert r.status_code == 200
        # neither another district's bureau nor another agency may terminate it
        for headers in (w.bureau("440705"), w.agency(new_uscc()), w.enterprise(new_uscc())):
            assert (await w.post(c["id"], "terminate", headers, {"reason": "x"})).status_code == 403


async def test_a_filing_of_a_suspended_agency_is_not_accepted(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        c = await w.filing()
        await w.agency_event("agency.suspended")
        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "accept"})
        assert r.status_code == 422
        assert r.json()["code"] == "agency_not_approved"
        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "reject", "comments": "机构已被暂停"})
        assert r.status_code == 200
        assert r.json()["status"] == "rejected"


async def test_agency_changed_is_applied_like_any_agency_event(sqlite_backend):
    """SPEC §18: a change filing or an expired certificate (``agency.changed``) takes an engineer
    off the agency's roster: new contracts naming them are refused (422), the others still go."""
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        await w.agency_event("agency.changed", status="approved", engineers=["张伟"])
        r = await w.client.post("/api/v1/contracts", json=w.body(engineer="李娜"), headers=w.agency())
        assert r.status_code == 422, r.text
        assert "engineer_not_registered" in r.text
        assert (await w.create(engineer="张伟"))["engineer_name"] == "张伟"


async def test_an_expired_filing_flags_the_live_contracts_and_a_renewal_clears_them(sqlite_backend):
    """SPEC §18 / issue #16: the agency's filing expired (the registry's sweep) → its live
    contracts are flagged for the bureau and announced; approved again → the flag is cleared."""
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        active = await w.active()
        await w.agency_event("agency.expired", status="expired", filing_in_force=False)
        flagged = await w.get(active["id"])
        assert (flagged["status"], flagged["agency_lapsed"], flagged["risk_flagged"]) == ("active", True, False)
        events = await eventually(lambda: read_events(settings, event_type="contract.flagged"))
        assert "备案已过期" in events[-1].data["reason"]
        await w.agency_event("agency.expired", status="expired", filing_in_force=False, version=w.agency_version)
        await w.agency_event("agency.approved", filing_in_force=True)
        assert (await w.get(active["id"]))["agency_lapsed"] is False
        assert len(await read_events(settings, event_type="contract.flagged")) == 2
