"""Notify in the whole platform, through the gateway (real processes, real NATS, both backends):
a major hazard recorded through the API puts an urgent item in the district bureau's inbox and,
with SMTP configured, an e-mail in a real SMTP server's mailbox within 5 s of the service log's
response; the inbox is read through the gateway.

Accounts reach notify by the gateway's ``account.*`` events once the gateway emits them (the
lead wires that at merge); until then this test publishes them for the accounts it signs up."""

from __future__ import annotations

import datetime as dt

from devtools.testing.events import publish_event
from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from shared.reference import make_uscc
from tests.e2e.test_custody_story import PDF, agency_body


async def tell_notify(settings, actor, *, email: str | None = None, district: str | None = None, org=None):
    await publish_event(
        settings,
        "account.registered",
        {
            "id": actor.account["id"],
            "version": 1,
            "username": actor.username,
            "role": actor.role,
            "org_uscc": org,
            "district": district,
            "email": email,
            "language": "zh-CN",
        },
    )


async def test_major_hazard_reaches_the_bureau_inbox_and_mailbox_through_the_gateway(env, smtp, tmp_path):
    settings = env.settings(smtp_url=smtp.url)
    today = dt.date.today()
    async with started_platform(settings, tmp_path / "logs") as platform:
        api = platform.client
        bureau = await platform.actor("bureau", district="440703")
        other = await platform.actor("bureau", district="440705")
        agency_uscc = make_uscc("91440703MA5" + today.strftime("%y%m") + "N0")
        enterprise_uscc = make_uscc("91440703MA5" + today.strftime("%y%m") + "N1")
        agency = await platform.actor("agency", org_uscc=agency_uscc)
        enterprise = await platform.actor("enterprise", org_uscc=enterprise_uscc)
        bus = platform.settings
        await tell_notify(bus, bureau, email="bureau703@example.test", district="440703")
        await tell_notify(bus, other, email="bureau705@example.test", district="440705")
        await tell_notify(bus, agency, org=agency_uscc)
        await tell_notify(bus, enterprise, org=enterprise_uscc, email="factory@example.test")

        r = await api.post(
            "/api/v1/agencies", json=agency_body(agency_uscc, "江门安泰通知测试有限公司"), headers=agency.headers
        )
        assert r.status_code == 201, r.text
        agency_id = r.json()["id"]
        r = await api.post(
            f"/api/v1/agencies/{agency_id}/documents",
            headers=agency.headers,
            files={"file": ("licence.pdf", PDF, "application/pdf")},
            data={"kind": "business_licence"},
        )
        assert r.status_code == 201, r.text
        assert (await api.post(f"/api/v1/agencies/{agency_id}/submit", headers=agency.headers)).status_code == 200

        async def inbox(actor, **params):
            resp = await api.get("/api/v1/inbox", params=params, headers=actor.headers)
            assert resp.status_code == 200, resp.text
            return resp.json()["items"]

        submitted = await eventually(lambda: inbox(bureau, kind="agency.submitted"), timeout=20)
        assert submitted[0]["link"] == f"/api/v1/agencies/{agency_id}"
        r = await api.post(
            f"/api/v1/agencies/{agency_id}/review",
            headers=bureau.headers,
            json={"decision": "approve", "comments": "材料齐全"},
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: inbox(agency, kind="agency.approved"), timeout=20)

        r = await api.post(
            "/api/v1/enterprises",
            headers=enterprise.headers,
            json={
                "uscc": enterprise_uscc,
                "name": "江门市蓬江区通知五金厂",
                "industry": "machinery",
                "district_code": "440703",
                "town": "棠下镇",
                "address": "棠下镇工业大道9号",
                "employees": 30,
                "major_hazard_source": False,
                "hazard_flags": [],
                "contact_name": "王五",
                "contact_phone": "13912345678",
            },
        )
        assert r.status_code == 201, r.text
        body = {
            "enterprise_uscc": enterprise_uscc,
            "agency_id": agency_id,
            "engineer_name": "陈工",
            "services": [{"item": "hazard_inspection", "times_per_year": 12}],
            "start_date": today.isoformat(),
            "end_date": (today + dt.timedelta(days=365)).isoformat(),
            "fee_yuan": 12000,
        }

        async def drafted():
            resp = await api.post("/api/v1/contracts", json=body, headers=enterprise.headers)
            return resp if resp.status_code == 201 else None

        contract_id = (await eventually(drafted, timeout=20, interval=0.3)).json()["id"]
        for party in (enterprise, agency):
            assert (await api.post(f"/api/v1/contracts/{contract_id}/sign", headers=party.headers)).status_code == 200
        assert (await api.post(f"/api/v1/contracts/{contract_id}/file", headers=agency.headers)).status_code == 200
        r = await api.post(
            f"/api/v1/contracts/{contract_id}/filing-review",
            headers=bureau.headers,
            json={"decision": "accept", "comments": "同意备案"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"
        await eventually(lambda: inbox(enterprise, kind="contract.signed"), timeout=20)

        async def logged():
            resp = await api.post(
                "/api/v1/service-logs",
                headers=agency.headers,
                json={
                    "contract_id": contract_id,
                    "visit_date": today.isoformat(),
                    "engineer_name": "陈工",
                    "items": ["hazard_inspection"],
                    "summary": "发现配电箱未接地",
                    "hazards": [
                        {
                            "description": "配电箱未接地",
                            "level": "major",
                            "location": "二号车间",
                            "deadline": (today + dt.timedelta(days=30)).isoformat(),
                        }
                    ],
                },
            )
            return resp if resp.status_code == 201 else None

        hazard_id = (await eventually(logged, timeout=20, interval=0.3)).json()["hazards"][0]["id"]
        # From the service log's response: the e-mail within 5 s, the urgent item with it.
        mails = await eventually(lambda: smtp.to("bureau703@example.test"), timeout=5)
        assert mails[0]["Subject"] == "【紧急】发现重大隐患"
        urgent = await eventually(lambda: inbox(bureau, kind="hazard.reported"), timeout=5)
        assert urgent[0]["urgent"] is True

        # More rows of the table, each through the API: the parties of the contract, the visit to
        # confirm, the rectification to verify, a complaint received and forwarded.
        await eventually(lambda: inbox(agency, kind="contract.activated"), timeout=20)
        ours = await eventually(lambda: inbox(enterprise, kind="hazard.reported"), timeout=20)
        assert ours[0]["urgent"] is True
        assert ours[0]["subject_id"] == hazard_id
        await eventually(lambda: inbox(enterprise, kind="servicelog.recorded"), timeout=20)
        r = await api.post(f"/api/v1/hazards/{hazard_id}/rectify", json={"note": "已接地"}, headers=enterprise.headers)
        assert r.status_code == 200, r.text
        await eventually(lambda: inbox(agency, kind="hazard.rectified"), timeout=20)
        r = await api.post(
            "/api/v1/complaints",
            headers=enterprise.headers,
            json={
                "agency_id": agency_id,
                "contract_id": contract_id,
                "category": "service_quality",
                "description": "检查走过场",
            },
        )
        assert r.status_code == 201, r.text
        complaint_id = r.json()["id"]
        await eventually(lambda: inbox(bureau, kind="complaint.received"), timeout=20)
        r = await api.post(f"/api/v1/complaints/{complaint_id}/forward", json={}, headers=bureau.headers)
        assert r.status_code == 200, r.text
        forwarded = await eventually(lambda: inbox(agency, kind="complaint.forwarded"), timeout=20)
        assert forwarded[0]["due_at"] is not None
        assert forwarded[0]["link"] == f"/api/v1/complaints/{complaint_id}"
        assert await inbox(enterprise, kind="complaint.forwarded") == []
        assert smtp.to("bureau705@example.test") == []
        assert await inbox(other) == []  # another district's bureau was told nothing

        # Reading through the gateway.
        r = await api.get("/api/v1/inbox/summary", headers=bureau.headers)
        assert r.status_code == 200
        assert r.json()["urgent"] == 1
        r = await api.post(f"/api/v1/inbox/{urgent[0]['id']}/read", headers=bureau.headers)
        assert r.status_code == 200
        assert r.json()["read_at"]
        assert (await api.get("/api/v1/inbox/summary", headers=bureau.headers)).json()["urgent"] == 0
        r = await api.post(f"/api/v1/inbox/{urgent[0]['id']}/read", headers=other.headers)
        assert r.status_code == 403
        assert (await api.get("/api/v1/inbox")).status_code == 401
        r = await api.get("/api/v1/webhooks", headers=bureau.headers)
        assert r.status_code == 200
        assert r.json()["items"] == []
