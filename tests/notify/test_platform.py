"""Notify in the whole platform, through the gateway (real processes, real NATS, both backends):
a major hazard recorded through the API puts an urgent item in the district bureau's inbox and,
with SMTP configured, an e-mail in a real SMTP server's mailbox within 5 s of the service log's
response; the inbox is read through the gateway.

Nobody here publishes an account event: notify learns every account from the gateway's
``account.*`` events — made by sign-up, an invitation or the admin, their e-mail and language
set with ``PATCH /api/v1/me``, disabled, enabled and removed from an organisation."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from devtools.testing.events import publish_event
from devtools.testing.platform import Platform, started_platform
from devtools.testing.wait import eventually
from shared.db import Database
from shared.reference import make_uscc
from tests.e2e.test_custody_story import PDF, agency_body
from tests.files import png
from tests.identity.helpers import fresh_uscc


async def set_me(platform: Platform, actor, **settings) -> dict:
    """The actor's own settings through the gateway (SPEC §15: ``PATCH /api/v1/me``)."""
    r = await platform.client.patch("/api/v1/me", json=settings, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


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
        await set_me(platform, bureau, email="bureau703@example.test")
        await set_me(platform, other, email="bureau705@example.test")
        await set_me(platform, enterprise, email="factory@example.test")

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

        drafted_contract = (await eventually(drafted, timeout=20, interval=0.3)).json()
        contract_id, terms = drafted_contract["id"], {"content_sha256": drafted_contract["content_sha256"]}
        for party in (enterprise, agency):
            signed = await api.post(f"/api/v1/contracts/{contract_id}/sign", json=terms, headers=party.headers)
            assert signed.status_code == 200, signed.text
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
        photo = await api.post(
            "/api/v1/attachments", files={"file": ("p.png", png(), "image/png")}, headers=enterprise.headers
        )
        assert photo.status_code == 201, photo.text
        r = await api.post(
            f"/api/v1/hazards/{hazard_id}/rectify",
            json={"note": "已接地", "attachments": [photo.json()["id"]]},  # a major hazard's needs evidence
            headers=enterprise.headers,
        )
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


async def read_model(settings, account_id: str) -> dict | None:
    """Notify's row for the account (its read model of the gateway's accounts)."""
    db = Database(settings.database_url_for("notify"), service="notify")
    try:
        async with db.reader() as session:
            row = (await session.execute(sa.text("SELECT * FROM accounts WHERE id = :id"), {"id": account_id})).first()
        return dict(row._mapping) if row is not None else None
    finally:
        await db.dispose()


def major_hazard(enterprise_uscc: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "version": 1,
        "contract_id": str(uuid.uuid4()),
        "agency_id": str(uuid.uuid4()),
        "enterprise_uscc": enterprise_uscc,
        "district_code": "440703",
        "level": "major",
        "status": "open",
        "deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    }


async def test_accounts_reach_notify_only_through_the_gateway(env, smtp, tmp_path):
    settings = env.settings(smtp_url=smtp.url)
    async with started_platform(settings, tmp_path / "logs") as platform:
        api, bus = platform.client, platform.settings
        admin = await platform.admin_headers()
        bureau = await platform.actor("bureau", district="440703")  # made by the admin
        uscc = fresh_uscc("440703")
        owner = await platform.actor("enterprise", org_uscc=uscc)  # signed up, verified by the admin
        code = (await api.post(f"/api/v1/organisations/{uscc}/invitations", json={}, headers=owner.headers)).json()[
            "code"
        ]
        member = await platform.actor("enterprise", org_uscc=uscc, invitation=code)  # joined with the invitation

        async def inbox(actor) -> list:
            r = await api.get("/api/v1/inbox", params={"kind": "hazard.reported"}, headers=actor.headers)
            assert r.status_code == 200, r.text
            return r.json()["items"]

        async def known(actor, **expected) -> dict | None:
            row = await read_model(bus, actor.account["id"])
            return row if row is not None and all(row[k] == v for k, v in expected.items()) else None

        row = await eventually(lambda: known(bureau, district="440703", status="active"), timeout=20)
        assert row["role"] == "bureau"
        assert row["username"] == bureau.username
        await eventually(lambda: known(owner, org_uscc=uscc, status="active"), timeout=20)
        await eventually(lambda: known(member, org_uscc=uscc, status="active"), timeout=20)

        # e-mail and language from PATCH /api/v1/me; a major hazard: mailed at once, in that language
        assert (await set_me(platform, member, email="member@example.test", language="en"))["version"] == 2
        await eventually(lambda: known(member, email="member@example.test", language="en"), timeout=20)
        first = major_hazard(uscc)
        await publish_event(bus, "hazard.reported", first)
        mail = (await eventually(lambda: smtp.to("member@example.test"), timeout=10))[0]
        assert mail["Subject"] == "[Urgent] Major hazard found"
        for actor in (bureau, owner, member):
            [item] = await eventually(lambda a=actor: inbox(a), timeout=20)
            assert item["subject_id"] == first["id"]
            assert item["urgent"] is True

        # disabled: told nothing while it is; enabled: told again
        r = await api.post(
            f"/api/v1/admin/accounts/{bureau.account['id']}/disable", json={"reason": "调岗"}, headers=admin
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: known(bureau, status="disabled"), timeout=20)
        second = major_hazard(uscc)
        await publish_event(bus, "hazard.reported", second)
        await eventually(lambda: len_at_least(inbox(owner), 2), timeout=20)
        r = await api.post(
            f"/api/v1/admin/accounts/{bureau.account['id']}/enable", json={"reason": "返岗"}, headers=admin
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: known(bureau, status="active"), timeout=20)
        bureau.token = await platform.token(bureau.client_id, bureau.client_secret)  # the old one was revoked
        assert [i["subject_id"] for i in await inbox(bureau)] == [first["id"]]
        third = major_hazard(uscc)
        await publish_event(bus, "hazard.reported", third)
        await eventually(lambda: len_at_least(inbox(bureau), 2), timeout=20)
        assert {i["subject_id"] for i in await inbox(bureau)} == {first["id"], third["id"]}

        # removed from the organisation by its admin: notify tells it nothing more
        r = await api.delete(f"/api/v1/organisations/{uscc}/members/{member.account['id']}", headers=owner.headers)
        assert r.status_code == 204
        row = await eventually(lambda: known(member, status="removed"), timeout=20)
        assert row["org_uscc"] is None
        assert row["version"] == 3
        await eventually(lambda: len(smtp.to("member@example.test")) == 3, timeout=10)  # the three hazards so far
        await publish_event(bus, "hazard.reported", major_hazard(uscc))
        await eventually(lambda: len_at_least(inbox(owner), 4), timeout=20)
        await eventually(lambda: len_at_least(inbox(bureau), 3), timeout=20)
        assert len(smtp.to("member@example.test")) == 3, "a removed member is mailed nothing"


async def len_at_least(items, count: int):
    found = await items
    return found if len(found) >= count else None
