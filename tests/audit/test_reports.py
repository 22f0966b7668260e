"""Public reports (群众举报, SPEC §22): anonymous or by any account, tracked with code and phone;
received → assigned → handled → closed by the district's bureau (or the city); bad input 422."""

from __future__ import annotations

from tests.audit.factories import DISTRICT, OTHER_DISTRICT, Enterprise, audit_app, bureau, city

PHONE = "13912345678"


def report(**extra):
    body = {
        "enterprise_name": "某某化工有限公司",
        "district_code": DISTRICT,
        "town": "某某镇",
        "address": "某某路 1 号",
        "category": "hazard",
        "description": "仓库堆放大量危化品，无人看管",
    }
    return body | extra


async def test_report_lifecycle_and_tracking(backend):
    async with audit_app(backend) as h:
        r = await h.client.post("/api/v1/reports", json=report(contact_phone=PHONE))
        assert r.status_code == 201, r.text
        rep = r.json()
        assert rep["status"] == "received"
        code = rep["tracking_code"]
        assert code and len(code) >= 16
        rid = rep["id"]
        received = (await h.events("report.received"))[0]
        assert received.data["id"] == rid
        assert received.data["district_code"] == DISTRICT
        assert received.data["category"] == "hazard"

        tracked = await h.client.post("/api/v1/reports/track", json={"tracking_code": code, "contact_phone": PHONE})
        assert tracked.status_code == 200, tracked.text
        assert tracked.json()["status"] == "received"
        assert [s["action"] for s in tracked.json()["timeline"]] == ["received"]
        assert "actor" not in tracked.json()["timeline"][0]
        assert "contact_phone" not in tracked.json()
        wrong_code = code[:-1] + ("A" if code[-1] != "A" else "B")
        for wrong in (
            {"tracking_code": wrong_code, "contact_phone": PHONE},
            {"tracking_code": code, "contact_phone": "13900000000"},
        ):
            w = await h.client.post("/api/v1/reports/track", json=wrong)
            assert w.status_code == 404
            assert w.json()["code"] == "not_found"

        # The bureau reads it (with the phone); the code is never stored in clear.
        stored = (await h.client.get(f"/api/v1/reports/{rid}", headers=bureau())).json()
        assert stored["tracking_code"] is None
        assert stored["contact_phone"] == PHONE
        assert stored["anonymous"] is True

        r = await h.client.post(f"/api/v1/reports/{rid}/handle", json={"notes": "x"}, headers=bureau())
        assert r.status_code == 409
        r = await h.client.post(
            f"/api/v1/reports/{rid}/assign", json={"town": "另一镇", "notes": "请核查"}, headers=bureau()
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "assigned"
        assert r.json()["town"] == "另一镇"
        r = await h.client.post(f"/api/v1/reports/{rid}/handle", json={"notes": "已现场检查"}, headers=bureau())
        assert r.status_code == 200
        assert r.json()["status"] == "handled"
        r = await h.client.post(
            f"/api/v1/reports/{rid}/close",
            json={"outcome": "substantiated", "notes": "情况属实，已立案"},
            headers=city(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"
        assert r.json()["outcome"] == "substantiated"
        again = await h.client.post(
            f"/api/v1/reports/{rid}/close", json={"outcome": "unsubstantiated", "notes": "x"}, headers=bureau()
        )
        assert again.status_code == 409
        closed = (await h.events("report.closed"))[0]
        assert closed.data["id"] == rid
        assert closed.data["status"] == "closed"

        tracked = (
            await h.client.post("/api/v1/reports/track", json={"tracking_code": code, "contact_phone": PHONE})
        ).json()
        assert tracked["status"] == "closed"
        assert tracked["outcome"] == "substantiated"
        assert [s["action"] for s in tracked["timeline"]] == ["received", "assigned", "handled", "closed:substantiated"]


async def test_who_may_submit_read_and_act(backend):
    async with audit_app(backend) as h:
        # anonymous needs a phone
        r = await h.client.post("/api/v1/reports", json=report())
        assert r.status_code == 422
        assert r.json()["code"] == "contact_phone_required"
        # any account may report, without a phone
        enterprise = Enterprise()
        r = await h.client.post(
            "/api/v1/reports", json=report(district_code=OTHER_DISTRICT), headers=enterprise.headers()
        )
        assert r.status_code == 201, r.text
        assert r.json()["anonymous"] is False
        rid = r.json()["id"]
        # only the district's bureau or the city reads and acts
        assert (await h.client.get(f"/api/v1/reports/{rid}")).status_code == 401
        assert (await h.client.get(f"/api/v1/reports/{rid}", headers=enterprise.headers())).status_code == 403
        assert (await h.client.get(f"/api/v1/reports/{rid}", headers=bureau())).status_code == 403
        assert (await h.client.get(f"/api/v1/reports/{rid}", headers=bureau(OTHER_DISTRICT))).status_code == 200
        r = await h.client.post(f"/api/v1/reports/{rid}/assign", json={"notes": "x"}, headers=bureau())
        assert r.status_code == 403
        r = await h.client.post(f"/api/v1/reports/{rid}/assign", json={"notes": "x"}, headers=enterprise.headers())
        assert r.status_code == 403
        mine = (await h.client.get("/api/v1/reports", headers=bureau())).json()["items"]
        assert mine == []
        theirs = (await h.client.get("/api/v1/reports?status=received", headers=bureau(OTHER_DISTRICT))).json()
        assert [x["id"] for x in theirs["items"]] == [rid]
        everyone = (await h.client.get(f"/api/v1/reports?district={OTHER_DISTRICT}", headers=city())).json()
        assert [x["id"] for x in everyone["items"]] == [rid]
        assert (await h.client.get(f"/api/v1/reports?district={DISTRICT}", headers=city())).json()["items"] == []
        assert (await h.client.get("/api/v1/reports?status=closed", headers=city())).json()["items"] == []
        assert (await h.client.get("/api/v1/reports", headers=enterprise.headers())).status_code == 403


async def test_bad_input_is_422(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        for bad in (
            report(contact_phone="12345"),
            report(contact_phone=PHONE, category="gossip"),
            report(contact_phone=PHONE, district_code="44"),
            report(contact_phone=PHONE, description=""),
            report(contact_phone=PHONE, description="x" * 2001),
            report(contact_phone=PHONE, enterprise_name="a\nb"),
            report(contact_phone=PHONE, enterprise_uscc="not-a-uscc"),
            report(contact_phone=PHONE, extra="no"),
            {"contact_phone": PHONE},
        ):
            r = await h.client.post("/api/v1/reports", json=bad)
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        for bad in ({"tracking_code": "short", "contact_phone": PHONE}, {"tracking_code": "a" * 20}):
            assert (await h.client.post("/api/v1/reports/track", json=bad)).status_code == 422
        r = await h.client.post("/api/v1/reports", json=report(contact_phone=PHONE))
        rid = r.json()["id"]
        r = await h.client.post(f"/api/v1/reports/{rid}/close", json={"outcome": "maybe", "notes": "x"}, headers=city())
        assert r.status_code == 422
        assert (await h.client.get("/api/v1/reports?status=nope", headers=city())).status_code == 422
        r = await h.client.post("/api/v1/reports/not-a-uuid/assign", json={"notes": "x"}, headers=city())
        assert r.status_code == 422
