"""Major-hazard supervision (挂牌督办, SPEC §17): a major hazard opens a case ``reported`` in the unit
of work that records it (general ones do not); the bureau of the enterprise's district or the city
acknowledges, lists (deadline, measures, responsible) and closes it once the hazard is verified;
a case not acknowledged within ``major_hazard_ack_hours`` (2) is escalated once by sweep and stays
acknowledgeable. Every step's event is on the real bus; both backends."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from services.audit.states import SUPERVISION, SupervisionStatus
from shared.roles import Role
from tests.audit.factories import (
    CITY,
    OTHER_DISTRICT,
    TODAY,
    Agency,
    Enterprise,
    admin,
    audit_app,
    bureau,
    city,
    evidence,
    hazard,
    service_log,
)

OPENED = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)  # the harness's frozen clock
CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def _log_with(h, contract, *hazards, summary="例行检查"):
    r = await h.client.post(
        "/api/v1/service-logs",
        json=service_log(contract, hazards=list(hazards), summary=summary),
        headers=contract.agency.headers(),
    )
    assert r.status_code == 201, r.text
    return [hz["id"] for hz in r.json()["hazards"]]


async def _cases(h, headers=None, query=""):
    r = await h.client.get(f"/api/v1/supervision{query}", headers=headers or city())
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _case_of(h, hazard_id):
    [case] = [c for c in await _cases(h, query="?limit=200") if c["hazard_id"] == hazard_id]
    return case


async def _sweep(h, moment: datetime):
    r = await h.client.post(
        "/api/v1/admin/sweep",
        params={"service": "audit", "as_of": moment.isoformat().replace("+00:00", "Z")},
        headers=admin(),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_the_machine_declares_who_and_what():
    """reported → acknowledged → listed → closed; the bureaus act, the system escalates."""
    steps = {(t.action.name, t.source, t.target): (t.by, t.emits) for t in SUPERVISION.transitions}
    bureaus = frozenset({Role.BUREAU, Role.ADMIN})
    R, A, L, C = (SupervisionStatus(s) for s in ("reported", "acknowledged", "listed", "closed"))
    assert steps == {
        ("acknowledge", R, A): (bureaus, "supervision.acknowledged"),
        ("escalate", R, R): (frozenset({Role.SYSTEM}), "supervision.escalated"),
        ("list", A, L): (bureaus, "supervision.listed"),
        ("close", L, C): (bureaus, "supervision.closed"),
    }


async def test_a_major_hazard_opens_a_case_on_the_bus(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        general, major = await _log_with(h, contract, hazard("general"), hazard("major"))
        [case] = await _cases(h)
        assert case["hazard_id"] == major
        assert case["status"] == "reported"
        assert case["enterprise_uscc"] == contract.enterprise.uscc
        assert case["agency_id"] == contract.agency.id
        assert case["district_code"] == contract.district_code
        assert datetime.fromisoformat(case["opened_at"]) == OPENED
        assert datetime.fromisoformat(case["ack_due_at"]) == OPENED + timedelta(hours=2)
        for field in ("acknowledged_at", "escalated_at", "deadline", "measures", "responsible", "closed_at"):
            assert case[field] is None, field
        # the case was opened with the hazard: same unit of work, same moment
        hz = (await h.client.get(f"/api/v1/hazards/{major}", headers=admin())).json()
        assert datetime.fromisoformat(hz["created_at"]) == datetime.fromisoformat(case["opened_at"])
        [opened] = await h.events("supervision.opened")
        assert opened.data["id"] == case["id"]
        assert opened.data["hazard_id"] == major
        assert opened.data["status"] == "reported"
        assert opened.data["district_code"] == contract.district_code
        assert opened.data["version"] == 1
        assert opened.source == "/audit"
        reported = await h.events("hazard.reported", count=2)
        assert {e.data["id"] for e in reported} == {general, major}
        assert await h.emitted("supervision.opened") == 1
        r = await h.client.get(f"/api/v1/supervision/{case['id']}", headers=bureau())
        assert r.status_code == 200
        assert r.headers["etag"] == '"1"'


async def test_acknowledge_list_and_close_once_the_hazard_is_verified(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        [hid] = await _log_with(h, contract, hazard("major"))
        case_id = (await _case_of(h, hid))["id"]
        url = f"/api/v1/supervision/{case_id}"
        body = {"deadline": (TODAY + timedelta(days=30)).isoformat(), "measures": "停产整改", "responsible": "张三"}
        # listing before acknowledging: illegal, the machine's 409
        r = await h.client.post(f"{url}/list", json=body, headers=bureau())
        assert r.status_code == 409
        assert r.json()["current_status"] == "reported"
        r = await h.client.post(f"{url}/acknowledge", headers={**bureau(), "If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "acknowledged"
        assert datetime.fromisoformat(r.json()["acknowledged_at"]) == OPENED
        assert r.json()["acknowledged_by"].startswith("bureau:")
        assert r.headers["etag"] == '"2"'
        assert (await h.client.post(f"{url}/acknowledge", headers=bureau())).status_code == 409
        # a deadline in the past: 422 on the field, naming the rule
        past = {**body, "deadline": (TODAY - timedelta(days=1)).isoformat()}
        r = await h.client.post(f"{url}/list", json=past, headers=bureau())
        assert r.status_code == 422
        assert r.json()["code"] == "supervision_deadline_past"
        assert r.json()["errors"][0]["field"] == "deadline"
        r = await h.client.post(f"{url}/list", json={**body, "deadline": TODAY.isoformat()}, headers=bureau())
        assert r.status_code == 200, r.text  # today is not the past
        listed = r.json()
        assert (listed["status"], listed["deadline"], listed["measures"], listed["responsible"]) == (
            "listed",
            TODAY.isoformat(),
            "停产整改",
            "张三",
        )
        # closing before the hazard is verified: 409, the rule named in both languages
        r = await h.client.post(f"{url}/close", json={"notes": "已整改"}, headers=bureau())
        assert r.status_code == 409
        problem = r.json()
        assert problem["code"] == "supervision_hazard_not_verified"
        assert problem["hazard_status"] == "open"
        assert "验收" in problem["detail"]
        r = await h.client.post(f"{url}/close", json={"notes": "x"}, headers={**bureau(), "Accept-Language": "en"})
        assert not CHINESE.search(r.json()["detail"]), r.json()["detail"]
        assert "verified" in r.json()["detail"]
        r = await h.client.post(
            f"/api/v1/hazards/{hid}/rectify",
            json={"note": "已整改", "attachments": await evidence(h, contract)},
            headers=contract.enterprise.headers(),
        )
        assert r.status_code == 200
        r = await h.client.post(f"{url}/close", json={"notes": "x"}, headers=bureau())
        assert r.status_code == 409  # rectified is not verified
        assert r.json()["hazard_status"] == "rectified"
        r = await h.client.post(f"/api/v1/hazards/{hid}/verify", headers=contract.agency.headers())
        assert r.status_code == 200
        r = await h.client.post(f"{url}/close", json={"notes": "复查合格，销号"}, headers=city())
        assert r.status_code == 200, r.text
        closed = r.json()
        assert (closed["status"], closed["close_notes"], closed["version"]) == ("closed", "复查合格，销号", 4)
        assert datetime.fromisoformat(closed["closed_at"]) == OPENED
        for verb, payload in (("acknowledge", None), ("list", body), ("close", {"notes": "再次"})):
            assert (await h.client.post(f"{url}/{verb}", json=payload, headers=bureau())).status_code == 409
        for event_type, status, version in (
            ("supervision.acknowledged", "acknowledged", 2),
            ("supervision.listed", "listed", 3),
            ("supervision.closed", "closed", 4),
        ):
            [event] = await h.events(event_type)
            assert (event.data["id"], event.data["status"], event.data["version"]) == (case_id, status, version)
        [listed_event] = await h.events("supervision.listed")
        assert listed_event.data["deadline"] == TODAY.isoformat()
        assert await h.emitted("supervision.escalated") == 0


async def test_the_clock_escalates_once_and_the_case_stays_acknowledgeable(backend):
    async with audit_app(backend) as h:
        contract = await h.setup()
        [hid] = await _log_with(h, contract, hazard("major"))
        case = await _case_of(h, hid)
        assert (await _sweep(h, OPENED + timedelta(hours=1)))["supervision_escalated"] == 0
        assert (await _sweep(h, OPENED + timedelta(hours=2)))["supervision_escalated"] == 0  # due, not past due
        assert await h.emitted("supervision.escalated") == 0
        late = OPENED + timedelta(hours=2, seconds=1)
        results = await asyncio.gather(_sweep(h, late), _sweep(h, late))  # two replicas at once
        assert sum(r["supervision_escalated"] for r in results) == 1
        assert (await _sweep(h, late))["supervision_escalated"] == 0  # once
        assert (await _sweep(h, late + timedelta(days=1)))["supervision_escalated"] == 0
        assert await h.emitted("supervision.escalated") == 1
        [escalated] = await h.events("supervision.escalated")
        assert escalated.data["id"] == case["id"]
        assert escalated.data["status"] == "reported"
        assert escalated.data["escalated"] is True
        assert escalated.data["version"] == 2
        after = (await h.client.get(f"/api/v1/supervision/{case['id']}", headers=bureau())).json()
        assert datetime.fromisoformat(after["escalated_at"]) == late
        assert after["status"] == "reported"
        r = await h.client.post(f"/api/v1/supervision/{case['id']}/acknowledge", headers=bureau())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "acknowledged"
        assert r.json()["escalated_at"] is not None
        assert r.json()["version"] == 3


async def test_an_acknowledged_case_is_not_escalated(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        [hid] = await _log_with(h, contract, hazard("major"))
        case = await _case_of(h, hid)
        r = await h.client.post(f"/api/v1/supervision/{case['id']}/acknowledge", headers=city())
        assert r.status_code == 200
        assert (await _sweep(h, OPENED + timedelta(hours=3)))["supervision_escalated"] == 0
        assert await h.emitted("supervision.escalated") == 0


async def test_who_may_see_and_act(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        far = await h.setup(enterprise=Enterprise(district_code=OTHER_DISTRICT), agency=Agency())
        [hid] = await _log_with(h, contract, hazard("major"))
        [far_hid] = await _log_with(h, far, hazard("major"))
        case_id, far_id = (await _case_of(h, hid))["id"], (await _case_of(h, far_hid))["id"]
        url = f"/api/v1/supervision/{case_id}"

        async def ids(headers, query=""):
            return {c["id"] for c in await _cases(h, headers, query)}

        assert await ids(city()) == {case_id, far_id}
        assert await ids(admin()) == {case_id, far_id}
        assert await ids(bureau()) == {case_id}
        assert await ids(bureau(OTHER_DISTRICT)) == {far_id}
        assert await ids(city(), f"?district={OTHER_DISTRICT}") == {far_id}
        assert await ids(city(), "?status=reported") == {case_id, far_id}
        assert await ids(city(), "?status=closed") == set()
        r = await h.client.get(f"/api/v1/supervision?district={OTHER_DISTRICT}", headers=bureau())
        assert r.status_code == 403
        for headers in (contract.agency.headers(), contract.enterprise.headers()):
            assert (await h.client.get("/api/v1/supervision", headers=headers)).status_code == 403
        assert (await h.client.get("/api/v1/supervision")).status_code == 401
        # the case's agency and enterprise read their own; others are refused
        for headers in (contract.agency.headers(), contract.enterprise.headers(), bureau(), city()):
            assert (await h.client.get(url, headers=headers)).status_code == 200
        for headers in (far.agency.headers(), far.enterprise.headers(), bureau(OTHER_DISTRICT)):
            assert (await h.client.get(url, headers=headers)).status_code == 403
        # acting: the district's bureau or the city (and admin); not the parties, not another district
        for headers in (contract.agency.headers(), contract.enterprise.headers(), bureau(OTHER_DISTRICT)):
            r = await h.client.post(f"{url}/acknowledge", headers=headers)
            assert r.status_code == 403, r.text
        r = await h.client.post(f"{url}/acknowledge", headers={**bureau(), "If-Match": '"7"'})
        assert r.status_code == 412
        r = await h.client.post(f"/api/v1/supervision/{far_id}/acknowledge", headers=city())
        assert r.status_code == 200
        assert (await ids(city(), "?status=acknowledged")) == {far_id}
        page = await h.client.get("/api/v1/supervision?limit=1", headers=city())
        rest = await h.client.get(f"/api/v1/supervision?limit=1&cursor={page.json()['next_cursor']}", headers=city())
        assert len(page.json()["items"]) == 1
        assert len(rest.json()["items"]) == 1
        assert rest.json()["next_cursor"] is None
        assert {page.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {case_id, far_id}
        assert CITY  # the city bureau's district code


async def test_bad_input_is_422_never_500(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        [hid] = await _log_with(h, contract, hazard("major"))
        case_id = (await _case_of(h, hid))["id"]
        url = f"/api/v1/supervision/{case_id}"
        assert (await h.client.post(f"{url}/acknowledge", headers=bureau())).status_code == 200
        good = {"deadline": (TODAY + timedelta(days=10)).isoformat(), "measures": "整改", "responsible": "李四"}
        for bad in (
            {},
            {**good, "deadline": "2026-13-01"},
            {**good, "deadline": "soon"},
            {**good, "measures": "   "},
            {**good, "responsible": ""},
            {**good, "responsible": "两行\n名字"},
            {**good, "responsible": "x" * 201},
            {**good, "measures": "x" * 5001},
            {**good, "extra": 1},
            {k: v for k, v in good.items() if k != "responsible"},
        ):
            r = await h.client.post(f"{url}/list", json=bad, headers=bureau())
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        headers = {**bureau(), "Content-Type": "application/json"}
        r = await h.client.post(f"{url}/list", content=b"{not json", headers=headers)
        assert r.status_code == 400  # malformed JSON: the platform's 400 problem
        assert r.headers["content-type"].startswith("application/problem+json")
        for bad in ({}, {"notes": ""}, {"notes": 5}):
            r = await h.client.post(f"{url}/close", json=bad, headers=bureau())
            assert r.status_code == 422, (bad, r.text)
        assert (await h.client.get("/api/v1/supervision?status=open", headers=city())).status_code == 422
        assert (await h.client.get("/api/v1/supervision?district=44", headers=city())).status_code == 422
        assert (await h.client.get("/api/v1/supervision?limit=0", headers=city())).status_code == 422
        assert (await h.client.get("/api/v1/supervision?cursor=%%%", headers=city())).status_code in (400, 422)
        assert (await h.client.get("/api/v1/supervision/not-a-uuid", headers=city())).status_code == 422
        missing = "/api/v1/supervision/0190f000-0000-7000-8000-000000000000"
        assert (await h.client.get(missing, headers=city())).status_code == 404
        assert (await h.client.post(f"{missing}/acknowledge", headers=city())).status_code == 404


async def test_the_acknowledgement_window_is_the_policys(sqlite_backend, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"major_hazard_ack_hours": 4}', encoding="utf-8")
    async with audit_app(sqlite_backend, policy_file=policy) as h:
        contract = await h.setup()
        [hid] = await _log_with(h, contract, hazard("major"))
        case = await _case_of(h, hid)
        assert datetime.fromisoformat(case["ack_due_at"]) == OPENED + timedelta(hours=4)
        assert (await _sweep(h, OPENED + timedelta(hours=3)))["supervision_escalated"] == 0
        assert (await _sweep(h, OPENED + timedelta(hours=4, seconds=1)))["supervision_escalated"] == 1
