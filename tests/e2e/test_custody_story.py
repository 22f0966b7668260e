"""The whole custody story through the gateway against the running platform (real processes,
real NATS, real databases), on the embedded default and on PostgreSQL + the machine's NATS:

sign-up → agency filing → review → directory → enterprise → contract → signatures → filing →
activation → visit with a major hazard and photos → risk escalation → supervision (late
acknowledgement, escalation to the city, 挂牌) → rectification with evidence, rejected once, redone,
verified → case closed → a disputed visit voided → complaint →
credit change visible in the directory → suspension cascade.
"""

from __future__ import annotations

import datetime as dt

from devtools.testing.wait import eventually
from shared.reference import make_uscc
from tests.files import png

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def agency_body(uscc: str, name: str) -> dict:
    valid = (dt.date.today() + dt.timedelta(days=700)).isoformat()
    staff = [
        {
            "name": "陈工",
            "role": "registered_safety_engineer",
            "certificate_no": f"ZA{uscc[-8:]}1",
            "certificate_valid_until": valid,
            "full_time": True,
        },
        {
            "name": "李工",
            "role": "registered_safety_engineer",
            "certificate_no": f"ZA{uscc[-8:]}2",
            "certificate_valid_until": valid,
            "full_time": True,
        },
    ] + [{"name": f"员工{i}", "role": "safety_officer", "full_time": True} for i in range(4)]
    return {
        "uscc": uscc,
        "name": name,
        "legal_representative": "张三",
        "contact_phone": "13800138000",
        "address": "江门市蓬江区建设路1号",
        "district_code": "440703",
        "service_districts": ["440703", "440704"],
        "service_industries": ["machinery", "light_industry"],
        "staff": staff,
        "qualifications": [
            {
                "type": "安全评价",
                "number": f"Q-{uscc[-6:]}",
                "issuer": "广东省应急管理厅",
                "valid_from": "2024-01-01",
                "valid_until": valid,
            }
        ],
    }


async def test_the_whole_custody_story(platform):
    api = platform.client
    today = dt.date.today()
    bureau = await platform.actor("bureau", district="440703")
    city = await platform.actor("bureau", district="440700")
    agency_uscc = make_uscc("91440703MA5" + today.strftime("%y%m") + "A0")
    enterprise_uscc = make_uscc("91440703MA5" + today.strftime("%y%m") + "E0")
    agency = await platform.actor("agency", org_uscc=agency_uscc)
    enterprise = await platform.actor("enterprise", org_uscc=enterprise_uscc)

    # --- agency filing and review ----------------------------------------------------------
    r = await api.post(
        "/api/v1/agencies", json=agency_body(agency_uscc, "江门安泰安全技术服务有限公司"), headers=agency.headers
    )
    assert r.status_code == 201, r.text
    agency_id = r.json()["id"]
    assert r.json()["status"] == "draft"
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/documents",
        files={"file": ("licence.pdf", PDF, "application/pdf")},
        data={"kind": "business_licence"},
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(f"/api/v1/agencies/{agency_id}/submit", headers=agency.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    assert all(c["passed"] for c in r.json()["checks"]), r.json()["checks"]
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/review",
        json={"decision": "approve", "comments": "材料齐全"},
        headers=bureau.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["filing_no"]

    async def listed():
        d = await api.get("/api/v1/directory/agencies", params={"district": "440703"})
        return next((a for a in d.json()["items"] if a["id"] == agency_id), None)

    entry = await eventually(listed, timeout=20)
    assert len(entry["registered_engineers"]) == 2 and entry["active_contracts"] == 0

    # --- the enterprise chooses and both sign ------------------------------------------------
    r = await api.post(
        "/api/v1/enterprises",
        headers=enterprise.headers,
        json={
            "uscc": enterprise_uscc,
            "name": "江门市蓬江区宏达五金制品厂",
            "industry": "machinery",
            "district_code": "440703",
            "town": "棠下镇",
            "address": "棠下镇工业大道8号",
            "employees": 35,
            "major_hazard_source": False,
            "hazard_flags": [],
            "contact_name": "王五",
            "contact_phone": "13912345678",
        },
    )
    assert r.status_code == 201, r.text
    enterprise_id = r.json()["id"]
    base_risk = r.json()["risk_level"]

    contract_body = {
        "enterprise_uscc": enterprise_uscc,
        "agency_id": agency_id,
        "engineer_name": "陈工",
        "services": [
            {"item": "hazard_inspection", "times_per_year": 12},
            {"item": "safety_training", "times_per_year": 2},
        ],
        "start_date": today.isoformat(),
        "end_date": (today + dt.timedelta(days=365)).isoformat(),
        "fee_yuan": 12000,
    }

    async def created():
        resp = await api.post("/api/v1/contracts", json=contract_body, headers=enterprise.headers)
        return resp if resp.status_code == 201 else None

    r = await eventually(created, timeout=20, interval=0.3)
    contract = r.json()
    contract_id = contract["id"]
    assert contract["status"] == "draft"
    # each party names the terms it signs (SPEC §9 v2): naming nothing is 428, a stale version 412
    # (through the gateway: it passes If-Match on), and neither signs anything
    r = await api.post(f"/api/v1/contracts/{contract_id}/sign", headers=enterprise.headers)
    assert r.status_code == 428 and r.json()["code"] == "precondition_required", r.text
    r = await api.post(f"/api/v1/contracts/{contract_id}/sign", headers={**enterprise.headers, "If-Match": '"0"'})
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed", r.text
    # … the hash of the terms it read
    for party in (enterprise, agency):
        r = await api.post(
            f"/api/v1/contracts/{contract_id}/sign",
            json={"content_sha256": contract["content_sha256"]},
            headers=party.headers,
        )
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "signed" and len(r.json()["signatures"]) == 2
    r = await api.post(f"/api/v1/contracts/{contract_id}/file", headers=agency.headers)
    assert r.status_code == 200 and r.json()["status"] == "filing", r.text
    r = await api.post(
        f"/api/v1/contracts/{contract_id}/filing-review",
        json={"decision": "accept", "comments": "同意备案"},
        headers=bureau.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["filing_no"]
    assert [h["to"] for h in r.json()["history"]][-2:] == ["filed", "active"]

    async def custodian():
        e = await api.get(f"/api/v1/enterprises/{enterprise_id}", headers=enterprise.headers)
        return e.json()["custodian"]

    assert (await eventually(custodian, timeout=20))["contract_id"] == contract_id
    await eventually(lambda: _directory_has(api, agency_id, active_contracts=1), timeout=20)

    # --- a visit with a major hazard and photos: risk rises, supervision, the loop closes -------
    async def upload(actor, n: int) -> str:
        r = await api.post(
            "/api/v1/attachments", files={"file": (f"p{n}.jpg", png(n), "image/jpeg")}, headers=actor.headers
        )
        assert r.status_code == 201 and r.json()["content_type"] == "image/png", r.text  # typed by content
        return str(r.json()["id"])

    visit_photo, hazard_photo = await upload(agency, 7), await upload(agency, 8)

    async def logged():
        resp = await api.post(
            "/api/v1/service-logs",
            headers=agency.headers,
            json={
                "contract_id": contract_id,
                "visit_date": today.isoformat(),
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "现场检查，发现配电箱未接地",
                "attachments": [visit_photo],
                "hazards": [
                    {
                        "description": "配电箱未接地",
                        "level": "major",
                        "location": "二号车间",
                        "deadline": (today + dt.timedelta(days=30)).isoformat(),
                        "photos": [hazard_photo],
                    }
                ],
            },
        )
        return resp if resp.status_code == 201 else None

    r = await eventually(logged, timeout=20, interval=0.3)
    log_id = r.json()["id"]
    hazard_id = r.json()["hazards"][0]["id"]
    assert r.json()["attachments"] == [visit_photo] and r.json()["hazards"][0]["photos"] == [hazard_photo]
    seen = await api.get(f"/api/v1/attachments/{hazard_photo}", headers=bureau.headers)  # a reader of the record
    assert seen.status_code == 200 and seen.content == png(8), seen.text
    r = await api.post(f"/api/v1/service-logs/{log_id}/confirm", headers=enterprise.headers)
    assert r.status_code == 200, r.text

    async def risk_is(level_check):
        e = await api.get(f"/api/v1/enterprises/{enterprise_id}/risk", headers=enterprise.headers)
        return e.json() if level_check(e.json()["risk_level"]) else None

    await eventually(lambda: risk_is(lambda lvl: lvl != base_risk), timeout=20)

    # the major hazard opens a supervision case (SPEC §17); the bureau does not acknowledge within
    # 2 hours: the sweep escalates it to the city bureau (urgent), then the bureau acknowledges late
    async def case_opened():
        r = await api.get("/api/v1/supervision", params={"district": "440703"}, headers=bureau.headers)
        return next((c for c in r.json()["items"] if c["hazard_id"] == hazard_id), None)

    case = await eventually(case_opened, timeout=20)
    case_url = f"/api/v1/supervision/{case['id']}"
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    admin = await platform.admin_headers()
    r = await api.post("/api/v1/admin/sweep", params={"service": "audit", "as_of": later}, headers=admin)
    assert r.status_code == 200, r.text

    async def city_told():
        inbox = await api.get("/api/v1/inbox", params={"kind": "supervision.escalated"}, headers=city.headers)
        return next((i for i in inbox.json()["items"] if i["urgent"]), None) if inbox.status_code == 200 else None

    await eventually(city_told, timeout=20)
    assert (await api.get(case_url, headers=bureau.headers)).json()["escalated_at"]
    r = await api.post(f"{case_url}/acknowledge", headers=bureau.headers)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged", r.text
    # 挂牌督办: the bureau's own deadline and measures
    r = await api.post(
        f"{case_url}/list",
        json={
            "deadline": (today + dt.timedelta(days=15)).isoformat(),
            "measures": "停用二号车间配电箱，限期整改并复查",
            "responsible": "企业负责人王五",
        },
        headers=bureau.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "listed", r.text
    r = await api.post(f"{case_url}/close", json={"notes": "尚未整改"}, headers=bureau.headers)
    assert r.status_code == 409, r.text  # closed only after the hazard is verified

    # the rectification of a major hazard comes with its evidence (SPEC §16); the agency rejects the
    # first one, the enterprise rectifies again, the agency verifies, the bureau closes the case
    first_fix = await upload(enterprise, 11)
    r = await api.post(
        f"/api/v1/hazards/{hazard_id}/rectify",
        json={"note": "已接地", "attachments": [first_fix]},
        headers=enterprise.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "rectified", r.text
    assert r.json()["rectify_attachments"] == [first_fix]
    seen = await api.get(f"/api/v1/attachments/{first_fix}", headers=agency.headers)  # the hazard's agency
    assert seen.status_code == 200 and seen.content == png(11), seen.text
    r = await api.post(
        f"/api/v1/hazards/{hazard_id}/reject-rectification", json={"reason": "接地电阻未检测"}, headers=agency.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    second_fix = await upload(enterprise, 12)
    r = await api.post(
        f"/api/v1/hazards/{hazard_id}/rectify",
        json={"note": "已重新接地并检测合格", "attachments": [second_fix]},
        headers=enterprise.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "rectified", r.text
    r = await api.post(f"/api/v1/hazards/{hazard_id}/verify", headers=agency.headers)
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text
    await eventually(lambda: risk_is(lambda lvl: lvl == base_risk), timeout=20)

    async def closed():
        r = await api.post(f"{case_url}/close", json={"notes": "复查合格，予以销号"}, headers=bureau.headers)
        return r if r.status_code == 200 else None  # once audit has the verification

    r = await eventually(closed, timeout=20, interval=0.3)
    assert r.json()["status"] == "closed", r.text

    # --- a visit the enterprise disputes; the bureau voids it; compliance drops (SPEC §16) ----
    r = await api.post(
        "/api/v1/service-logs",
        headers=agency.headers,
        json={
            "contract_id": contract_id,
            "visit_date": today.isoformat(),
            "engineer_name": "李\u200b工",  # on the roster, once normalised
            "items": ["hazard_inspection"],
            "summary": "例行检查（企业称未到场）",
        },
    )
    assert r.status_code == 201, r.text
    disputed_id = r.json()["id"]

    async def inspection():
        c = await api.get(f"/api/v1/compliance/contracts/{contract_id}", headers=bureau.headers)
        return next(i for i in c.json()["items"] if i["item"] == "hazard_inspection")

    before = await inspection()
    assert (before["recorded"], before["pending"]) == (1, 1), before  # the confirmed one; the new one
    r = await api.post(
        f"/api/v1/service-logs/{disputed_id}/dispute", json={"reason": "当天无人到场"}, headers=enterprise.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "disputed", r.text

    async def agency_told():
        inbox = await api.get("/api/v1/inbox", params={"kind": "servicelog.disputed"}, headers=agency.headers)
        return inbox.status_code == 200 and any(i["subject_id"] == disputed_id for i in inbox.json()["items"])

    await eventually(agency_told, timeout=20)
    r = await api.post(
        f"/api/v1/service-logs/{disputed_id}/resolve",
        json={"decision": "void", "notes": "核实当天未到场"},
        headers=bureau.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "void", r.text
    assert r.json()["disputed_at"] and r.json()["resolved_at"]
    after = await inspection()
    assert (after["recorded"], after["pending"]) == (1, 0), after  # the voided visit counts nowhere

    # --- a complaint, upheld: the credit change reaches the directory -----------------------
    r = await api.post(
        "/api/v1/complaints",
        headers=enterprise.headers,
        json={
            "agency_id": agency_id,
            "contract_id": contract_id,
            "category": "service_quality",
            "description": "工程师检查走过场，未认真排查",
        },
    )
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    r = await api.post(f"/api/v1/complaints/{complaint_id}/forward", json={}, headers=bureau.headers)
    assert r.status_code == 200 and r.json()["status"] == "forwarded", r.text
    r = await api.post(
        f"/api/v1/complaints/{complaint_id}/respond", json={"response": "已整改，加强检查"}, headers=agency.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "responded", r.text
    r = await api.post(
        f"/api/v1/complaints/{complaint_id}/resolve",
        json={"outcome": "upheld", "notes": "投诉属实"},
        headers=bureau.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = await api.get(f"/api/v1/complaints/{complaint_id}", headers=bureau.headers)
    assert len(r.json()["timeline"]) >= 4
    credit = await api.get(f"/api/v1/credit/agencies/{agency_id}", headers=bureau.headers)
    assert credit.status_code == 200 and credit.json()["score"] == 90, credit.text

    # --- 一企一档: the enterprise's file lists every step of the story so far, in time order (§22) ---
    async def enterprise_file():
        r = await api.get(f"/api/v1/enterprises/{enterprise_id}/file", headers=enterprise.headers)
        assert r.status_code == 200, r.text
        return r.json() if any(e["ref"] == complaint_id for e in r.json()["timeline"]) else None

    file = await eventually(enterprise_file, timeout=20)
    timeline = file["timeline"]
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    refs = {(e["section"], e["ref"]) for e in timeline}
    assert {
        ("contracts", contract_id),
        ("visits", log_id),
        ("visits", disputed_id),
        ("supervision_cases", case["id"]),
        ("complaints", complaint_id),
    } <= refs
    loop = [e["what"] for e in timeline if e["section"] == "hazards" and e["ref"] == hazard_id]
    assert loop == ["open", "rectified", "open", "rectified", "verified"], loop  # found, rejected once
    assert {e["what"] for e in timeline if e["ref"] == disputed_id} == {"void"}
    # the risk rose with the major hazard and fell with its verification
    risks = [e["what"] for e in timeline if e["section"] == "risk_history"]
    assert len(risks) >= 3 and risks[-1] == risks[0], risks
    await eventually(lambda: _directory_has(api, agency_id, credit_score=90), timeout=20)

    # --- suspension cascades to the contract and takes the agency off the list --------------
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/suspend", json={"reason": "投诉属实，暂停整改"}, headers=city.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended", r.text

    async def contract_suspended():
        c = await api.get(f"/api/v1/contracts/{contract_id}", headers=bureau.headers)
        return c.json()["status"] == "suspended"

    await eventually(contract_suspended, timeout=20)
    await eventually(lambda: _not_listed(api, agency_id), timeout=20)


async def _directory_has(api, agency_id, **expected):
    d = await api.get("/api/v1/directory/agencies", params={"limit": 200})
    entry = next((a for a in d.json()["items"] if a["id"] == agency_id), None)
    return entry is not None and all(entry.get(k) == v for k, v in expected.items())


async def _not_listed(api, agency_id):
    d = await api.get("/api/v1/directory/agencies", params={"limit": 200})
    return all(a["id"] != agency_id for a in d.json()["items"])
