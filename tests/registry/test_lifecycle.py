"""The agency filing lifecycle on both backends (SQLite + embedded NATS, PostgreSQL + NATS): every
transition persists, bumps the version, emits its event through the outbox onto the real bus, is
recorded in the audit trail, and moves the agency in and out of the public directory."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from tests.registry.factories import (
    PDF,
    TODAY,
    admin,
    agency_body,
    app_for,
    bureau,
    create,
    engineer,
    ok,
    owner,
    upload,
)


async def _events(settings, n):
    async def enough():
        events = [e for e in await read_events(settings) if e.type.startswith("agency.")]
        return events if len(events) >= n else None

    return await eventually(enough, timeout=15)


async def _directory_ids(client, **params):
    r = await client.get("/api/v1/directory/agencies", params=params)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def test_lifecycle_persists_emits_events_and_moves_the_directory(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        body = agency_body(name="江门市安泰安全技术服务有限公司")
        agency = await create(client, body)
        assert agency["status"] == "draft"
        assert agency["version"] == 1

        doc = await upload(client, agency, PDF)
        assert doc.status_code == 201, doc.text
        assert doc.json()["content_type"] == "application/pdf"
        assert doc.json()["size"] == len(PDF)

        submitted = await ok(client, agency, "submit")
        assert submitted["version"] == 3  # create, upload, submit
        assert {c["code"]: c["passed"] for c in submitted["checks"]} == {
            "uscc.valid": True,
            "staff.registered_engineers_min": True,
            "staff.full_time_min": True,
            "staff.certificates_valid": True,
            "qualifications.valid": True,
            "staff.exclusive": True,
        }
        assert await _directory_ids(client) == []

        approved = await ok(client, agency, "approve", headers=bureau("440703"))
        assert approved["filing_no"] == f"JM-TG-{TODAY.year}-0001"
        assert approved["valid_until"] == date(TODAY.year + 3, TODAY.month, TODAY.day).isoformat()
        assert await _directory_ids(client) == [agency["id"]]

        suspended = await ok(client, agency, "suspend", reason="未按约定开展服务")
        assert suspended["status"] == "suspended"
        assert suspended["status_reason"] == "未按约定开展服务"
        assert await _directory_ids(client) == []
        await ok(client, agency, "reinstate", reason="整改到位")
        assert await _directory_ids(client) == [agency["id"]]
        revoked = await ok(client, agency, "revoke", headers=admin(), reason="弄虚作假")
        assert revoked["status"] == "revoked"
        assert revoked["version"] == 7
        assert await _directory_ids(client) == []

        got = await client.get(f"/api/v1/agencies/{agency['id']}", headers=owner(body["uscc"]))
        assert got.status_code == 200
        assert got.headers["etag"] == '"7"'
        assert got.json()["documents"][0]["sha256"] == doc.json()["sha256"]

        events = await _events(settings, 5)
        assert [e.type for e in events] == [
            "agency.submitted",
            "agency.approved",
            "agency.suspended",
            "agency.reinstated",
            "agency.revoked",
        ]
        assert [e.data["version"] for e in events] == [3, 4, 5, 6, 7]
        approved_event = events[1]
        assert approved_event.source == "/registry"
        assert approved_event.subject == agency["id"]
        assert approved_event.data["registered_engineers"] == ["张工", "王工"]
        assert approved_event.data["filing_no"] == approved["filing_no"]
        assert approved_event.data["valid_until"] == approved["valid_until"]
        assert approved_event.data["service_districts"] == ["440703", "440704"]
        assert approved_event.data["service_industries"] == ["machinery", "light_industry"]
        assert approved_event.data["uscc"] == body["uscc"]
        assert approved_event.data["status"] == "approved"
        assert events[2].data["reason"] == "未按约定开展服务"
        assert events[3].data["status"] == "approved"

        trail = await client.get("/api/v1/admin/audit-trail/verify", headers=admin())
        # No broken link; completeness unknown, as the witness (audit) is not running here.
        assert {k: trail.json()[k] for k in ("valid", "reason", "entries", "first_broken_seq")} == {
            "valid": None,
            "reason": "witness_unavailable",
            "entries": 4,
            "first_broken_seq": None,
        }


async def test_sweep_expires_once_and_renewal_keeps_the_listing(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        renewing = await create(client)
        lapsing = await create(client)
        for agency in (renewing, lapsing):
            await ok(client, agency, "submit")
            await ok(client, agency, "approve")
        # Renewal of an approved agency: submitted again, still listed while its filing is valid.
        again = await ok(client, renewing, "submit")
        assert again["status"] == "submitted"
        assert again["filing_no"] == f"JM-TG-{TODAY.year}-0001"
        assert sorted(await _directory_ids(client)) == sorted([renewing["id"], lapsing["id"]])

        valid_until = date.fromisoformat(again["valid_until"])
        day_after = (valid_until + timedelta(days=1)).isoformat()
        first, second = await asyncio.gather(
            client.post("/api/v1/admin/sweep", params={"as_of": day_after}, headers=admin()),
            client.post("/api/v1/admin/sweep", params={"as_of": day_after}, headers=admin()),
        )
        assert first.status_code == second.status_code == 200, first.text
        assert first.json()["expired"] + second.json()["expired"] == 1
        assert first.json()["delisted_lapsed_renewals"] + second.json()["delisted_lapsed_renewals"] == 1
        assert await _directory_ids(client) == []

        expired = (await client.get(f"/api/v1/agencies/{lapsing['id']}", headers=admin())).json()
        assert expired["status"] == "expired"
        renewed = await ok(client, expired, "submit")
        approved = await ok(client, renewed, "approve")
        assert approved["filing_no"] == f"JM-TG-{TODAY.year}-0002"  # its number is kept
        assert await _directory_ids(client) == [lapsing["id"]]

        events = await _events(settings, 8)
        expired_events = [e for e in events if e.type == "agency.expired"]
        assert len(expired_events) == 1
        assert expired_events[0].data["id"] == lapsing["id"]
        assert expired_events[0].data["filing_in_force"] is False
        renewal = [e for e in events if e.type == "agency.submitted" and e.data["id"] == renewing["id"]][-1]
        assert renewal.data["previous_status"] == "approved"
        assert renewal.data["filing_in_force"] is True
        trail = (await client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        assert trail["valid"] is None and trail["reason"] == "witness_unavailable"  # no witness here
        assert trail["entries"] == 4


async def test_request_changes_and_rejection_are_announced(sqlite_backend):
    settings = sqlite_backend.settings()
    async with running(app_for(settings)) as client:
        agency = await create(client)
        await ok(client, agency, "submit")
        back = await ok(client, agency, "request_changes", comments="请补充注册安全工程师证书扫描件")
        assert back["status"] == "needs_more_info"
        assert back["review_comments"] == "请补充注册安全工程师证书扫描件"
        await ok(client, agency, "submit")
        await ok(client, agency, "reject", comments="人员资质不符合要求")
        events = await _events(settings, 4)
        assert [(e.type, e.data["status"], e.data["previous_status"]) for e in events] == [
            ("agency.submitted", "submitted", "draft"),
            ("agency.needs_more_info", "needs_more_info", "submitted"),
            ("agency.submitted", "submitted", "needs_more_info"),
            ("agency.rejected", "rejected", "submitted"),
        ]
        assert events[1].data["reason"] == "请补充注册安全工程师证书扫描件"
        assert events[3].data["reason"] == "人员资质不符合要求"


async def test_staff_exclusivity_blocks_a_second_agency_until_released(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        shared_cert = "RSE-2026-000777"
        first = await create(
            client, agency_body(engineers=[engineer("张工", shared_cert), engineer("王工", "RSE-A-2")])
        )
        # The same certificate written differently (case, full-width characters, spaces) is the same certificate.
        second_body = agency_body(engineers=[engineer("张三", "ｒｓｅ 2026 000777"), engineer("李四", "RSE-B-2")])
        second = await create(client, second_body)
        await ok(client, first, "submit")

        refused = await client.post(f"/api/v1/agencies/{second['id']}/submit", headers=owner(second_body["uscc"]))
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "staff_exclusive"
        assert "RSE 2026 000777" in problem["detail"]
        assert problem["errors"][0]["field"] == "staff[0].certificate_no"
        assert problem["certificates"] == ["RSE 2026 000777"]
        assert first["name"] not in refused.text
        assert first["uscc"] not in refused.text
        assert first["id"] not in refused.text
        still = (await client.get(f"/api/v1/agencies/{second['id']}", headers=owner(second_body["uscc"]))).json()
        assert still["status"] == "draft"
        assert still["version"] == 1

        # Rejection releases the certificate; the second agency may then count the engineer.
        await ok(client, first, "reject", comments="人员材料不实")
        assert (await ok(client, second, "submit"))["status"] == "submitted"
        # ... and now the first agency cannot take it back.
        patched = await client.get(f"/api/v1/agencies/{first['id']}", headers=owner(first["uscc"]))
        assert patched.json()["status"] == "rejected"


async def test_concurrent_submissions_with_one_certificate_admit_one(backend):
    settings = backend.settings()
    async with running(app_for(settings)) as client:
        bodies = [
            agency_body(engineers=[engineer(f"工程师{i}", "RSE-RACE-1"), engineer("甲", f"RSE-OWN-{i}")])
            for i in range(4)
        ]
        agencies = [await create(client, b) for b in bodies]
        results = await asyncio.gather(
            *(client.post(f"/api/v1/agencies/{a['id']}/submit", headers=owner(a["uscc"])) for a in agencies)
        )
        assert sorted(r.status_code for r in results) == [200, 422, 422, 422], [r.text for r in results]
        # Approvals of different agencies at once get distinct filing numbers.
        more = [await create(client) for _ in range(3)]
        for a in more:
            await ok(client, a, "submit")
        approved = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/agencies/{a['id']}/review",
                    headers=auth("bureau", district="440700"),
                    json={"decision": "approve", "comments": ""},
                )
                for a in more
            )
        )
        assert all(r.status_code == 200 for r in approved), [r.text for r in approved]
        assert sorted(r.json()["filing_no"] for r in approved) == [f"JM-TG-{TODAY.year}-000{i}" for i in (1, 2, 3)]
        # Two bureaus acting on one agency at once: one act wins, the other meets the new state.
        target = more[0]
        acts = await asyncio.gather(
            client.post(
                f"/api/v1/agencies/{target['id']}/suspend",
                json={"reason": "甲"},
                headers=auth("bureau", district="440703"),
            ),
            client.post(
                f"/api/v1/agencies/{target['id']}/suspend",
                json={"reason": "乙"},
                headers=auth("bureau", district="440700"),
            ),
        )
        assert sorted(r.status_code for r in acts) == [200, 409], [r.text for r in acts]
        final = (await client.get(f"/api/v1/agencies/{target['id']}", headers=auth("admin"))).json()
        assert final["status"] == "suspended"
        assert final["version"] == 4
