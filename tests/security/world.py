"""A small world on the real platform for security tests: every kind of actor and one record of
every kind, so that each endpoint can be called by each actor on a record that is — or is not —
theirs.

Two districts: 440703 (agency A, enterprise A, contract A with a service log, a major hazard, a
complaint and an audit task) and 440704 (agency B, enterprise B, contract B). Actors: the admin,
the city bureau (440700), bureau A (440703), bureau B (440704), the accounts of agency A/B and
enterprise A/B, and a read-only client of bureau A.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.reference import make_uscc
from devtools.testing.platform import Platform
from devtools.testing.wait import eventually

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ACTORS = ("anon", "admin", "city", "bureauA", "bureauB", "agencyA", "agencyB", "entA", "entB", "readonly")


def agency_body(uscc: str, name: str, district: str) -> dict[str, Any]:
    valid = (dt.date.today() + dt.timedelta(days=700)).isoformat()
    staff = [
        {"name": "陈工", "role": "registered_safety_engineer", "certificate_no": f"ZA{uscc[-8:]}1",
         "certificate_valid_until": valid, "full_time": True},
        {"name": "李工", "role": "registered_safety_engineer", "certificate_no": f"ZA{uscc[-8:]}2",
         "certificate_valid_until": valid, "full_time": True},
    ] + [{"name": f"员工{i}", "role": "safety_officer", "full_time": True} for i in range(4)]
    return {
        "uscc": uscc, "name": name, "legal_representative": "张三", "contact_phone": "13800138000",
        "address": "江门市建设路1号", "district_code": district, "service_districts": [district],
        "service_industries": ["machinery"], "staff": staff,
        "qualifications": [{"type": "安全评价", "number": f"Q-{uscc[-6:]}", "issuer": "广东省应急管理厅",
                            "valid_from": "2024-01-01", "valid_until": valid}],
    }


def first_town(district: str) -> str:
    import json
    from pathlib import Path

    import shared

    data = json.loads((Path(shared.__file__).parent / "data" / "jurisdiction" / "jiangmen.json").read_text())
    return next(d["towns"][0]["name"] for d in data["districts"] if d["code"] == district)


def enterprise_body(uscc: str, name: str, district: str) -> dict[str, Any]:
    return {"uscc": uscc, "name": name, "industry": "machinery", "district_code": district, "town": first_town(district),
            "address": "工业大道8号", "employees": 35, "major_hazard_source": False, "hazard_flags": [],
            "contact_name": "王五", "contact_phone": "13912345678"}


def contract_body(enterprise_uscc: str, agency_id: str) -> dict[str, Any]:
    today = dt.date.today()
    return {"enterprise_uscc": enterprise_uscc, "agency_id": agency_id, "engineer_name": "陈工",
            "services": [{"item": "hazard_inspection", "times_per_year": 12}],
            "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=365)).isoformat(),
            "fee_yuan": 12000}


@dataclass
class World:
    platform: Platform
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    uscc: dict[str, str] = field(default_factory=dict)

    def as_(self, actor: str) -> dict[str, str]:
        return dict(self.headers.get(actor, {}))


async def _ok(response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
    return response.json()


async def build_world(platform: Platform) -> World:
    api = platform.client
    w = World(platform)
    tag = uuid.uuid4().hex[:5].upper()
    w.uscc = {
        "agencyA": make_uscc(f"91440703MA{tag}A1"[:17]), "agencyB": make_uscc(f"91440704MA{tag}B1"[:17]),
        "entA": make_uscc(f"91440703MA{tag}E1"[:17]), "entB": make_uscc(f"91440704MA{tag}E2"[:17]),
    }
    w.headers["anon"] = {}
    w.headers["admin"] = await platform.admin_headers()
    for name, role, kw in [
        ("city", "bureau", {"district": "440700"}), ("bureauA", "bureau", {"district": "440703"}),
        ("bureauB", "bureau", {"district": "440704"}), ("agencyA", "agency", {"org_uscc": w.uscc["agencyA"]}),
        ("agencyB", "agency", {"org_uscc": w.uscc["agencyB"]}), ("entA", "enterprise", {"org_uscc": w.uscc["entA"]}),
        ("entB", "enterprise", {"org_uscc": w.uscc["entB"]}),
    ]:
        actor = await platform.actor(role, **kw)
        w.headers[name] = actor.headers
        w.usernames[name] = actor.username
    readonly = await platform.actor("bureau", district="440703", scopes="custody.read")
    w.headers["readonly"] = readonly.headers
    w.usernames["readonly"] = readonly.username

    # Agencies, filed and approved.
    for key, district, bureau in (("A", "440703", "bureauA"), ("B", "440704", "bureauB")):
        h = w.headers[f"agency{key}"]
        a = await _ok(await api.post("/api/v1/agencies", json=agency_body(w.uscc[f"agency{key}"], f"安全机构{key}{tag}", district), headers=h))
        w.ids[f"agency{key}"] = a["id"]
        doc = await _ok(await api.post(f"/api/v1/agencies/{a['id']}/documents", files={"file": ("l.pdf", PDF, "application/pdf")},
                                       data={"kind": "business_licence"}, headers=h))
        w.ids[f"document{key}"] = doc["id"]
        await _ok(await api.post(f"/api/v1/agencies/{a['id']}/submit", headers=h))
        await _ok(await api.post(f"/api/v1/agencies/{a['id']}/review", json={"decision": "approve", "comments": "ok"},
                                 headers=w.headers[bureau]))
    # Enterprises and active contracts.
    for key, district, bureau in (("A", "440703", "bureauA"), ("B", "440704", "bureauB")):
        h = w.headers[f"ent{key}"]
        e = await _ok(await api.post("/api/v1/enterprises", json=enterprise_body(w.uscc[f"ent{key}"], f"企业{key}{tag}", district), headers=h))
        w.ids[f"enterprise{key}"] = e["id"]

        async def created(h=h, key=key):
            r = await api.post("/api/v1/contracts", json=contract_body(w.uscc[f"ent{key}"], w.ids[f"agency{key}"]), headers=h)
            return r.json() if r.status_code == 201 else None

        c = await eventually(created, timeout=30, interval=0.3)
        w.ids[f"contract{key}"] = c["id"]
        for party in (f"ent{key}", f"agency{key}"):
            await _ok(await api.post(f"/api/v1/contracts/{c['id']}/sign", headers=w.headers[party]))
        await _ok(await api.post(f"/api/v1/contracts/{c['id']}/file", headers=w.headers[f"agency{key}"]))
        await _ok(await api.post(f"/api/v1/contracts/{c['id']}/filing-review", json={"decision": "accept", "comments": "ok"},
                                 headers=w.headers[bureau]))
    # A visit with a major hazard, a complaint, an audit task (contract A).
    today = dt.date.today()

    async def logged():
        r = await api.post("/api/v1/service-logs", headers=w.headers["agencyA"], json={
            "contract_id": w.ids["contractA"], "visit_date": today.isoformat(), "engineer_name": "陈工",
            "items": ["hazard_inspection"], "summary": "现场检查",
            "hazards": [{"description": "配电箱未接地", "level": "major", "location": "二号车间",
                         "deadline": (today + dt.timedelta(days=30)).isoformat()}]})
        return r.json() if r.status_code == 201 else None

    log = await eventually(logged, timeout=30, interval=0.3)
    w.ids["log"] = log["id"]
    w.ids["hazard"] = log["hazards"][0]["id"]
    complaint = await _ok(await api.post("/api/v1/complaints", headers=w.headers["entA"], json={
        "agency_id": w.ids["agencyA"], "contract_id": w.ids["contractA"], "category": "service_quality",
        "description": "检查走过场"}))
    w.ids["complaint"] = complaint["id"]

    async def audit_knows_contract():
        r = await api.get(f"/api/v1/compliance/contracts/{w.ids['contractA']}", headers=w.headers["bureauA"])
        return r.status_code == 200

    await eventually(audit_knows_contract, timeout=30, interval=0.3)
    sample = await _ok(await api.post("/api/v1/audits/sample", headers=w.headers["bureauA"],
                                      json={"period": f"{today.year}", "rate": 1.0, "seed": tag, "district": "440703"}))
    w.ids["sample"] = sample["id"]
    w.ids["task"] = next(t["id"] for t in sample["tasks"] if str(t.get("contract_id")) == w.ids["contractA"])
    return w
