"""The rows of SPEC §15's table, each made to happen through the gateway on the whole platform (real
processes, the real bus, both backends): the party the table names finds the item in its inbox
within seconds, and nobody else does — a second agency and another district's bureau are told
nothing of it. Time-driven rows (escalation, listing, overdue, missed, expiring) come from the
sweeps with ``as_of``. The rows test_platform.py already drives (agency submitted and approved,
contract signed and activated, visit recorded, major hazard, rectified, complaint received and
forwarded) are not repeated; tests/notify/test_recipients.py holds every row against published
events, with each bystander."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from devtools.testing.platform import Actor, Platform, started_platform
from devtools.testing.wait import eventually
from tests.identity.helpers import fresh_uscc
from tests.security.world import PDF, agency_body
from tests.story import approved_agency, filed_contract

TODAY = dt.date.today()


class Inboxes:
    def __init__(self, platform: Platform) -> None:
        self.api = platform.client

    async def items(self, actor: Actor, kind: str | None = None) -> list[dict]:
        params = {"limit": 100, **({"kind": kind} if kind else {})}
        r = await self.api.get("/api/v1/inbox", params=params, headers=actor.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def told(self, actor: Actor, kind: str, subject_id: str | None = None) -> dict:
        async def found() -> dict | None:
            for item in await self.items(actor, kind):
                if subject_id is None or item["subject_id"] == subject_id:
                    return item
            return None

        try:
            item: dict = await eventually(found, timeout=30, interval=0.3)
        except AssertionError:
            present = [(i["kind"], i["subject_id"]) for i in await self.items(actor)]
            raise AssertionError(f"{actor.username} was not told {kind} {subject_id or ''}; it has {present}") from None
        return item


async def _submitted_agency(p: Platform) -> tuple[str, Actor]:
    """An agency that signed up, filed with its document and submitted: waiting for the bureau."""
    uscc = fresh_uscc("440703")
    agency = await p.actor("agency", org_uscc=uscc, verified=False)
    r = await p.client.post(
        "/api/v1/agencies", json=agency_body(uscc, f"机构{uscc[-6:]}", "440703"), headers=agency.headers
    )
    assert r.status_code == 201, r.text
    agency_id = str(r.json()["id"])
    r = await p.client.post(
        f"/api/v1/agencies/{agency_id}/documents",
        files={"file": ("l.pdf", PDF, "application/pdf")},
        data={"kind": "business_licence"},
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    assert (await p.client.post(f"/api/v1/agencies/{agency_id}/submit", headers=agency.headers)).status_code == 200
    return agency_id, agency


async def _sweep(p: Platform, service: str, as_of: str) -> dict:
    r = await p.client.post(
        "/api/v1/admin/sweep", params={"service": service, "as_of": as_of}, headers=await p.admin_headers()
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.timeout(420)
async def test_each_row_happens_through_the_api_and_tells_only_its_parties(env, tmp_path):
    async with started_platform(env.settings(), tmp_path / "logs") as p:
        api, inbox = p.client, Inboxes(p)
        admin = await p.admin_headers()
        bureau = await p.actor("bureau", district="440703")
        city = await p.actor("bureau", district="440700")
        other_bureau = await p.actor("bureau", district="440705")
        _, bystander_id, bystander = await approved_agency(p, bureau.headers)

        # organisation.registered → the bureau of its district; .rejected / .suspended → the organisation
        pending_uscc = fresh_uscc("440703")
        pending = await p.actor("enterprise", org_uscc=pending_uscc, verified=False)
        await inbox.told(bureau, "organisation.registered")
        r = await api.post(
            f"/api/v1/organisations/{pending_uscc}/verify",
            json={"decision": "reject", "comments": "营业执照不符"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        pending.token = await p.token(pending.client_id, pending.client_secret)  # the decision revoked the old one
        await inbox.told(pending, "organisation.rejected")
        suspended_uscc = fresh_uscc("440703")
        suspended = await p.actor("enterprise", org_uscc=suspended_uscc)
        r = await api.post(f"/api/v1/organisations/{suspended_uscc}/suspend", json={"reason": "冒用"}, headers=admin)
        assert r.status_code == 200, r.text
        suspended.token = await p.token(suspended.client_id, suspended.client_secret)
        await inbox.told(suspended, "organisation.suspended")

        # the contract: drafted (the other party), filing submitted (the bureau), filed (both parties)
        c = await filed_contract(p, bureau.headers)
        await inbox.told(c.agency, "contract.drafted", c.id)
        await inbox.told(bureau, "contract.filing_submitted", c.id)
        r = await api.post(
            f"/api/v1/contracts/{c.id}/filing-review",
            json={"decision": "accept", "comments": "同意备案"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text
        for party in (c.agency, c.enterprise):
            await inbox.told(party, "contract.filed", c.id)
        await inbox.told(c.agency, "organisation.verified")  # its filing's approval verified it

        # a contact change applies at once and is announced: agency.changed → the agency
        r = await api.post(
            f"/api/v1/agencies/{c.agency_id}/changes",
            json={"contact_phone": "13700137000", "reason": "办公电话变更"},
            headers=c.agency.headers,
        )
        assert r.status_code == 201, r.text
        await inbox.told(c.agency, "agency.changed", c.agency_id)

        # a filing sent back for more information, then refused: each to the agency
        returned_id, returned = await _submitted_agency(p)
        await inbox.told(bureau, "agency.submitted", returned_id)
        r = await api.post(
            f"/api/v1/agencies/{returned_id}/review",
            json={"decision": "request_changes", "comments": "请补充资质证书"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text
        await inbox.told(returned, "agency.needs_more_info", returned_id)
        refused_id, refused_agency = await _submitted_agency(p)
        r = await api.post(
            f"/api/v1/agencies/{refused_id}/review",
            json={"decision": "reject", "comments": "人员不符合条件"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text
        await inbox.told(refused_agency, "agency.rejected", refused_id)

        # a second contract (other parties), refused at filing: contract.rejected to both
        refused = await filed_contract(p, bureau.headers)
        r = await api.post(
            f"/api/v1/contracts/{refused.id}/filing-review",
            json={"decision": "reject", "comments": "服务项目不全"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text
        for party in (refused.agency, refused.enterprise):
            await inbox.told(party, "contract.rejected", refused.id)

        # a general hazard tells the enterprise alone; overdue later tells all three
        r = await api.post(
            "/api/v1/service-logs",
            headers=c.agency.headers,
            json={
                "contract_id": c.id,
                "visit_date": TODAY.isoformat(),
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "例行检查",
                "hazards": [
                    {
                        "description": "灭火器过期",
                        "level": "general",
                        "location": "仓库",
                        "deadline": (TODAY + dt.timedelta(days=10)).isoformat(),
                    },
                    {
                        "description": "配电箱未接地",
                        "level": "major",
                        "location": "二号车间",
                        "deadline": (TODAY + dt.timedelta(days=30)).isoformat(),
                    },
                ],
            },
        )
        assert r.status_code == 201, r.text
        general_id, _major = (h["id"] for h in r.json()["hazards"])
        item = await inbox.told(c.enterprise, "hazard.reported", general_id)
        assert item["urgent"] is False
        await inbox.told(c.enterprise, "servicelog.recorded", r.json()["id"])  # to confirm or dispute

        # a disputed visit → the agency and the bureau
        r = await api.post(
            "/api/v1/service-logs",
            headers=c.agency.headers,
            json={
                "contract_id": c.id,
                "visit_date": TODAY.isoformat(),
                "engineer_name": "李工",
                "items": ["hazard_inspection"],
                "summary": "复查",
            },
        )
        assert r.status_code == 201, r.text
        disputed_id = r.json()["id"]
        r = await api.post(
            f"/api/v1/service-logs/{disputed_id}/dispute", json={"reason": "当天无人到场"}, headers=c.enterprise.headers
        )
        assert r.status_code == 200, r.text
        for actor in (c.agency, bureau):
            await inbox.told(actor, "servicelog.disputed", disputed_id)
        r = await api.post(
            f"/api/v1/service-logs/{disputed_id}/resolve",
            json={"decision": "void", "notes": "核实未到场"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text  # void: it will not stand for the months to come

        # complaints: responded → the bureau and the complainant; closed → the complainant and the agency
        r = await api.post(
            "/api/v1/complaints",
            json={
                "agency_id": c.agency_id,
                "contract_id": c.id,
                "category": "service_quality",
                "description": "走过场",
            },
            headers=c.enterprise.headers,
        )
        assert r.status_code == 201, r.text
        complaint_id = r.json()["id"]
        assert (
            await api.post(f"/api/v1/complaints/{complaint_id}/forward", json={}, headers=bureau.headers)
        ).is_success
        r = await api.post(
            f"/api/v1/complaints/{complaint_id}/respond", json={"response": "已加强检查"}, headers=c.agency.headers
        )
        assert r.status_code == 200, r.text
        for actor in (bureau, c.enterprise):
            await inbox.told(actor, "complaint.responded", complaint_id)
        r = await api.post(
            f"/api/v1/complaints/{complaint_id}/resolve",
            json={"outcome": "upheld", "notes": "投诉属实"},
            headers=bureau.headers,
        )
        assert r.status_code == 200, r.text
        for actor in (c.enterprise, c.agency):
            await inbox.told(actor, "complaint.closed", complaint_id)

        # a public report → the bureau of its district
        r = await api.post(
            "/api/v1/reports",
            json={
                "enterprise_name": "某某化工有限公司",
                "district_code": "440703",
                "town": "某某镇",
                "address": "某某路 1 号",
                "category": "hazard",
                "description": "仓库堆放大量危化品，无人看管",
                "contact_phone": "13912345678",
            },
        )
        assert r.status_code == 201, r.text
        await inbox.told(bureau, "report.received", r.json()["id"])

        # the bureau's own credit record → agency.credit_changed to the agency
        r = await api.post(
            f"/api/v1/credit/agencies/{c.agency_id}/records",
            json={"kind": "violation", "delta": -5, "reason": "检查记录不实", "ref": "江应急罚〔2026〕1号"},
            headers=bureau.headers,
        )
        assert r.status_code == 201, r.text
        await inbox.told(c.agency, "agency.credit_changed")

        # an agency suspended, reinstated and revoked by the bureau: each to the agency
        _, doomed_id, doomed = await approved_agency(p, bureau.headers)
        for action, kind in (("suspend", "suspended"), ("reinstate", "reinstated"), ("revoke", "revoked")):
            r = await api.post(
                f"/api/v1/agencies/{doomed_id}/{action}", json={"reason": "测试"}, headers=bureau.headers
            )
            assert r.status_code == 200, r.text
            await inbox.told(doomed, f"agency.{kind}", doomed_id)

        # the serious-dishonesty list: noticed, then listed by the sweep when no objection came
        r = await api.post(
            "/api/v1/credit/listings",
            json={
                "org_uscc": refused.enterprise_uscc,
                "org_kind": "enterprise",
                "reason": "瞒报事故",
                "legal_basis": "第三十条",
            },
            headers=bureau.headers,
        )
        assert r.status_code == 201, r.text
        listing_id = r.json()["id"]
        await inbox.told(refused.enterprise, "credit.noticed", listing_id)

        # time: the major hazard unacknowledged for 3 hours → escalated to the city (urgent)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
        await _sweep(p, "audit", later.isoformat())
        escalated = await inbox.told(city, "supervision.escalated")
        assert escalated["urgent"] is True
        await _sweep(p, "audit", (TODAY + dt.timedelta(days=7)).isoformat())
        await inbox.told(refused.enterprise, "credit.listed", listing_id)
        # the general hazard's deadline passed → overdue to the enterprise, the agency and the bureau
        await _sweep(p, "audit", (TODAY + dt.timedelta(days=12)).isoformat())
        for actor in (c.enterprise, c.agency, bureau):
            await inbox.told(actor, "hazard.overdue", general_id)
        # months without a visit → visit.missed to the agency and the bureau
        await _sweep(p, "audit", (TODAY + dt.timedelta(days=75)).isoformat())
        for actor in (c.agency, bureau):
            await inbox.told(actor, "visit.missed")
        # the contract nears its end → contract.expiring to both parties
        await _sweep(p, "contracts", (TODAY + dt.timedelta(days=350)).isoformat())
        for party in (c.agency, c.enterprise):
            await inbox.told(party, "contract.expiring", c.id)

        # its agency suspended: the contract is suspended with it → both parties
        r = await api.post(f"/api/v1/agencies/{c.agency_id}/suspend", json={"reason": "整改"}, headers=bureau.headers)
        assert r.status_code == 200, r.text
        for party in (c.agency, c.enterprise):
            await inbox.told(party, "contract.suspended", c.id)

        # the bureau terminates the contract → both parties
        r = await api.post(
            f"/api/v1/contracts/{c.id}/terminate", json={"reason": "机构严重失信"}, headers=bureau.headers
        )
        assert r.status_code == 200, r.text
        for party in (c.agency, c.enterprise):
            await inbox.told(party, "contract.terminated", c.id)

        # nobody else: another district's bureau heard nothing; the bystander agency only of itself
        await asyncio.sleep(1.0)
        assert await inbox.items(other_bureau) == []
        theirs = await inbox.items(bystander)
        assert {i["kind"] for i in theirs} <= {"organisation.verified", "agency.approved"}, theirs
        assert all(i["subject_id"] in (bystander_id, None) or i["kind"].startswith("organisation.") for i in theirs)
        # the city bureau is told what its districts are told (it heard of the filing too)
        await inbox.told(city, "contract.filing_submitted", c.id)

        # last, three years on: the bystander's filing expires → agency.expired to it
        bystander_until = (await api.get(f"/api/v1/agencies/{bystander_id}", headers=bureau.headers)).json()[
            "valid_until"
        ]
        after = (dt.date.fromisoformat(bystander_until) + dt.timedelta(days=1)).isoformat()
        await _sweep(p, "registry", after)
        await inbox.told(bystander, "agency.expired", bystander_id)
