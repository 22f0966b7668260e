"""The hazard loop: open → rectified (enterprise, note) → verified (agency); overdue by sweep;
late verification costs the agency credit (when it was the late one); listing by status, level, district, contract."""

from __future__ import annotations

import asyncio
from datetime import timedelta

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
    evidence,
    hazard,
    log_hazards,
)


async def test_loop_closes_and_emits_each_step(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        [hid] = await log_hazards(h, contract, hazard("major"))
        # verify before rectify: illegal
        r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=contract.agency.headers())
        assert r.status_code == 409
        assert r.json()["current_status"] == "open"
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/rectify",
            json={"note": "已重新接地", "attachments": await evidence(h, contract)},
            headers=contract.enterprise.headers(),
        )
        assert r.status_code == 200
        assert r.json()["status"] == "rectified"
        assert r.json()["rectify_note"] == "已重新接地"
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/verify", json={"note": "复查合格"}, headers=contract.agency.headers()
        )
        assert r.status_code == 200
        assert r.json()["status"] == "verified"
        assert r.json()["verified_late"] is False
        assert r.json()["verify_note"] == "复查合格"
        assert r.json()["verified_by"].startswith("agency:")
        for verb, headers, body in (
            ("rectify", contract.enterprise.headers(), {"note": "再次"}),
            ("verify", contract.agency.headers(), None),
        ):
            r = await h.client.post(f"/api/v1/hazards/{hid}/{verb}", json=body, headers=headers)
            assert r.status_code == 409, r.text
        rectified = await h.events("hazard.rectified")
        verified = await h.events("hazard.verified")
        assert rectified[0].data["status"] == "rectified"
        assert verified[0].data["status"] == "verified"
        assert verified[0].data["version"] == 3
        credit = await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=admin())
        assert credit.json()["score"] == 100
        assert credit.json()["records"] == []


async def test_overdue_by_sweep_once_then_late_verification_costs_credit(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        deadline = TODAY + timedelta(days=10)
        open_id, rectified_id, on_time_id = await log_hazards(
            h,
            contract,
            hazard(deadline=deadline),
            hazard(deadline=deadline),
            hazard(deadline=deadline + timedelta(days=20)),
        )
        r = await h.client.post(
            f"/api/v1/hazards/{rectified_id}/rectify", json={"note": "已整改"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 200
        assert (await h.sweep(deadline))["hazards_overdue"] == 0  # the deadline day itself is in time
        after = deadline + timedelta(days=1)
        h.clock.set(clock_at(after).now())
        results = await asyncio.gather(h.sweep(after), h.sweep(after))  # two replicas at once
        assert sum(r["hazards_overdue"] for r in results) == 2
        assert (await h.sweep(after))["hazards_overdue"] == 0  # once
        assert await h.emitted("hazard.overdue") == 2
        overdue = await h.events("hazard.overdue", count=2)
        assert {e.data["id"] for e in overdue} == {open_id, rectified_id}
        r = await h.client.get(f"/api/v1/hazards/{on_time_id}", headers=admin())
        assert r.json()["status"] == "open"

        # overdue, never rectified: verify is illegal; the enterprise can still rectify it
        r = await h.client.post(f"/api/v1/hazards/{open_id}/verify", headers=contract.agency.headers())
        assert r.status_code == 409
        r = await h.client.post(
            f"/api/v1/hazards/{open_id}/rectify", json={"note": "迟到的整改"}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 200
        assert r.json()["status"] == "rectified"
        # overdue while awaiting verification: the agency verifies it, late; the penalty falls on the
        # agency only for the one rectified in time (D42: open_id was rectified late)
        for hid in (open_id, rectified_id):
            r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=contract.agency.headers())
            assert r.status_code == 200, r.text
            assert r.json()["verified_late"] is True
        credit = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=admin())).json()
        assert credit["score"] == 99
        assert credit["grade"] == "A"
        assert [r["ref"] for r in credit["records"]] == [rectified_id]
        assert {r["kind"] for r in credit["records"]} == {"hazard_verified_late"}
        [change] = await h.events("agency.credit_changed")
        assert (change.data["score"], change.data["version"]) == (99, 1)
        assert change.data["cause"] == f"hazard_verified_late:{rectified_id}"


async def test_who_may_rectify_and_verify(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        other = await h.setup()
        [hid] = await log_hazards(h, contract, hazard())
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/rectify", json={"note": "  "}, headers=contract.enterprise.headers()
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "note"
        r = await h.client.post(f"/api/v1/hazards/{hid}/rectify", json={}, headers=contract.enterprise.headers())
        assert r.status_code == 422
        for headers in (other.enterprise.headers(), contract.agency.headers(), bureau(), admin()):
            r = await h.client.post(f"/api/v1/hazards/{hid}/rectify", json={"note": "x"}, headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/rectify",
            json={"note": "ok"},
            headers={**contract.enterprise.headers(), "If-Match": '"9"'},
        )
        assert r.status_code == 412
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/rectify",
            json={"note": "ok"},
            headers={**contract.enterprise.headers(), "If-Match": '"1"'},
        )
        assert r.status_code == 200
        for headers in (other.agency.headers(), contract.enterprise.headers(), bureau(), admin()):
            r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=headers)
            assert r.status_code == 403, r.text
        assert (
            await h.client.post(
                "/api/v1/hazards/0190f000-0000-7000-8000-000000000000/verify", headers=contract.agency.headers()
            )
        ).status_code == 404
        assert (
            await h.client.post("/api/v1/hazards/not-a-uuid/verify", headers=contract.agency.headers())
        ).status_code == 422


async def test_listing_filters_and_visibility(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        far = await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        general, major = await log_hazards(h, contract, hazard("general"), hazard("major"))
        [far_id] = await log_hazards(h, far, hazard("major"))
        await h.client.post(
            f"/api/v1/hazards/{general}/rectify", json={"note": "ok"}, headers=contract.enterprise.headers()
        )

        async def ids(headers, query=""):
            r = await h.client.get(f"/api/v1/hazards{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {i["id"] for i in r.json()["items"]}

        assert await ids(city()) == {general, major, far_id}
        assert await ids(city(), "?level=major") == {major, far_id}
        assert await ids(city(), "?status=rectified") == {general}
        assert await ids(city(), f"?district={OTHER_DISTRICT}") == {far_id}
        assert await ids(city(), f"?contract_id={contract.id}") == {general, major}
        assert await ids(city(), "?status=open&level=major&district=440703") == {major}
        assert await ids(bureau()) == {general, major}
        assert await ids(bureau(OTHER_DISTRICT)) == {far_id}
        assert await ids(contract.agency.headers()) == {general, major}
        assert await ids(far.enterprise.headers()) == {far_id}
        r = await h.client.get(f"/api/v1/hazards?district={OTHER_DISTRICT}", headers=bureau())
        assert r.status_code == 403
        assert (await h.client.get("/api/v1/hazards?status=closed", headers=city())).status_code == 422
        assert (await h.client.get(f"/api/v1/hazards/{far_id}", headers=bureau())).status_code == 403
        r = await h.client.get(f"/api/v1/hazards/{far_id}", headers=bureau(OTHER_DISTRICT))
        assert r.status_code == 200
        assert r.headers["etag"] == '"1"'
        page = await h.client.get("/api/v1/hazards?limit=2", headers=city())
        rest = await h.client.get(f"/api/v1/hazards?limit=2&cursor={page.json()['next_cursor']}", headers=city())
        assert len(page.json()["items"]) == 2
        assert len(rest.json()["items"]) == 1
        assert rest.json()["next_cursor"] is None
