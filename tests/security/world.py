"""A small world on the real platform for security tests: every kind of actor and one record of
every kind, so that each endpoint can be called by each actor on a record that is — or is not —
theirs.

SPEC §14 actors: ``member`` (invited into enterprise A's organisation: acts for it like entA, but is
not its admin), ``pending`` (the admin of a pending agency organisation: signed up, not verified),
``impostor`` (claimed a fresh USCC first, then the bureau reassigned it: its token from before is
revoked) and ``disabled`` (a bureau-A account the admin disabled: its token is revoked).

Two districts: 440703 (agency A, enterprise A, contract A with a service log, a major hazard, a
complaint and an audit task) and 440704 (agency B, enterprise B, contract B). Actors: the admin,
the city bureau (440700), bureau A (440703), bureau B (440704), the accounts of agency A/B and
enterprise A/B, and a read-only client of bureau A.

``listing``: a serious-dishonesty notice of enterprise A (SPEC §19), by bureau A.

Notify (SPEC §15): ``inbox_item`` — the item the major hazard put in entA's inbox (the real way: the
audit service's ``hazard.reported``, turned into items by notify); ``webhook`` — a subscription of
enterprise A, made by entA (its organisation's admin) before the visit, so that the visit's events
gave it a delivery log (``delivery``: its first attempt, answered 204 by ``receiver``, a webhook
receiver in the test process). ``fresh_webhook`` makes another one of enterprise A's, for a call that
deletes what it is given.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.testing.platform import Platform
from devtools.testing.wait import eventually
from shared.reference import make_uscc
from tests.files import png

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ACTORS = (
    "anon",
    "admin",
    "city",
    "bureauA",
    "bureauB",
    "agencyA",
    "agencyB",
    "entA",
    "entB",
    "readonly",
    "member",
    "pending",
    "impostor",
    "disabled",
)


def agency_body(uscc: str, name: str, district: str) -> dict[str, Any]:
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
        "address": "江门市建设路1号",
        "district_code": district,
        "service_districts": [district],
        "service_industries": ["machinery"],
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


def first_town(district: str) -> str:
    import json
    from pathlib import Path

    import shared

    data = json.loads((Path(shared.__file__).parent / "data" / "jurisdiction" / "jiangmen.json").read_text())
    return next(d["towns"][0]["name"] for d in data["districts"] if d["code"] == district)


def enterprise_body(uscc: str, name: str, district: str) -> dict[str, Any]:
    return {
        "uscc": uscc,
        "name": name,
        "industry": "machinery",
        "district_code": district,
        "town": first_town(district),
        "address": "工业大道8号",
        "employees": 35,
        "major_hazard_source": False,
        "hazard_flags": [],
        "contact_name": "王五",
        "contact_phone": "13912345678",
    }


def contract_body(enterprise_uscc: str, agency_id: str) -> dict[str, Any]:
    today = dt.date.today()
    return {
        "enterprise_uscc": enterprise_uscc,
        "agency_id": agency_id,
        "engineer_name": "陈工",
        "services": [{"item": "hazard_inspection", "times_per_year": 12}],
        "start_date": today.isoformat(),
        "end_date": (today + dt.timedelta(days=365)).isoformat(),
        "fee_yuan": 12000,
    }


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.received.append(self.headers.get("webhook-id"))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class Receiver:
    """A webhook receiver on 127.0.0.1 (allowed outside production, SPEC §15), in its own thread so
    that it answers while a test blocks the event loop: 204 to every delivery; ``received`` keeps
    their ``webhook-id`` headers."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        self.server.received = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/custody"
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()

    @property
    def received(self) -> list[str]:
        return self.server.received  # type: ignore[attr-defined,no-any-return]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class World:
    platform: Platform
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    uscc: dict[str, str] = field(default_factory=dict)
    receiver: Receiver = field(default_factory=Receiver)

    def as_(self, actor: str) -> dict[str, str]:
        return dict(self.headers.get(actor, {}))

    def close(self) -> None:
        self.receiver.close()


WEBHOOK_EVENTS = ["hazard.reported", "servicelog.recorded"]  # what enterprise A is told of a visit


def webhook_body(w: World, events: list[str] | None = None) -> dict[str, Any]:
    return {"url": w.receiver.url, "events": events or WEBHOOK_EVENTS, "description": "安全测试回调"}


async def fresh_webhook(w: World) -> str:
    """Another subscription of enterprise A (made by entA), to an event the world does not emit
    again: for the calls that delete the subscription they are given."""
    r = await w.platform.client.post(
        "/api/v1/webhooks", json=webhook_body(w, ["credit.listed"]), headers=w.headers["entA"]
    )
    return str((await _ok(r))["id"])


async def _ok(response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
    )
    return response.json()


async def build_world(platform: Platform) -> World:
    api = platform.client
    w = World(platform)
    tag = uuid.uuid4().hex[:5].upper()
    w.uscc = {
        "agencyA": make_uscc(f"91440703MA{tag}A1"[:17]),
        "agencyB": make_uscc(f"91440704MA{tag}B1"[:17]),
        "entA": make_uscc(f"91440703MA{tag}E1"[:17]),
        "entB": make_uscc(f"91440704MA{tag}E2"[:17]),
    }
    w.headers["anon"] = {}
    w.headers["admin"] = await platform.admin_headers()
    for name, role, kw in [
        ("city", "bureau", {"district": "440700"}),
        ("bureauA", "bureau", {"district": "440703"}),
        ("bureauB", "bureau", {"district": "440704"}),
        ("agencyA", "agency", {"org_uscc": w.uscc["agencyA"]}),
        ("agencyB", "agency", {"org_uscc": w.uscc["agencyB"]}),
        ("entA", "enterprise", {"org_uscc": w.uscc["entA"]}),
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
        a = await _ok(
            await api.post(
                "/api/v1/agencies", json=agency_body(w.uscc[f"agency{key}"], f"安全机构{key}{tag}", district), headers=h
            )
        )
        w.ids[f"agency{key}"] = a["id"]
        doc = await _ok(
            await api.post(
                f"/api/v1/agencies/{a['id']}/documents",
                files={"file": ("l.pdf", PDF, "application/pdf")},
                data={"kind": "business_licence"},
                headers=h,
            )
        )
        w.ids[f"document{key}"] = doc["id"]
        await _ok(await api.post(f"/api/v1/agencies/{a['id']}/submit", headers=h))
        await _ok(
            await api.post(
                f"/api/v1/agencies/{a['id']}/review",
                json={"decision": "approve", "comments": "ok"},
                headers=w.headers[bureau],
            )
        )
    # Agency A's change filing, submitted (its districts as they are): the bureaus review it.
    change = await api.post(
        f"/api/v1/agencies/{w.ids['agencyA']}/changes",
        json={"service_districts": ["440703"], "reason": "变更备案"},
        headers=w.headers["agencyA"],
    )
    w.ids["change"] = (await _ok(change))["id"]
    # Enterprises and active contracts.
    for key, district, bureau in (("A", "440703", "bureauA"), ("B", "440704", "bureauB")):
        h = w.headers[f"ent{key}"]
        e = await _ok(
            await api.post(
                "/api/v1/enterprises", json=enterprise_body(w.uscc[f"ent{key}"], f"企业{key}{tag}", district), headers=h
            )
        )
        w.ids[f"enterprise{key}"] = e["id"]

        async def created(h=h, key=key):
            r = await api.post(
                "/api/v1/contracts", json=contract_body(w.uscc[f"ent{key}"], w.ids[f"agency{key}"]), headers=h
            )
            return r.json() if r.status_code == 201 else None

        c = await eventually(created, timeout=30, interval=0.3)
        w.ids[f"contract{key}"] = c["id"]
        w.ids[f"contract{key}_sha256"] = c["content_sha256"]  # the terms both parties sign
        for party in (f"ent{key}", f"agency{key}"):
            signature = {"content_sha256": c["content_sha256"]}
            await _ok(await api.post(f"/api/v1/contracts/{c['id']}/sign", json=signature, headers=w.headers[party]))
        await _ok(await api.post(f"/api/v1/contracts/{c['id']}/file", headers=w.headers[f"agency{key}"]))
        await _ok(
            await api.post(
                f"/api/v1/contracts/{c['id']}/filing-review",
                json={"decision": "accept", "comments": "ok"},
                headers=w.headers[bureau],
            )
        )
    # Enterprise A's webhook, before the visit: the visit's events are its first deliveries.
    hook = await _ok(await api.post("/api/v1/webhooks", json=webhook_body(w), headers=w.headers["entA"]), 201)
    w.ids["webhook"] = hook["id"]
    # A visit with a major hazard, a complaint, an audit task (contract A).
    today = dt.date.today()

    # agency A's photo of the visit (SPEC §16): named on the log, so the log's readers see it
    photo = await _ok(
        await api.post(
            "/api/v1/attachments", files={"file": ("p.png", png(), "image/png")}, headers=w.headers["agencyA"]
        )
    )
    w.ids["attachment"] = photo["id"]

    async def logged():
        r = await api.post(
            "/api/v1/service-logs",
            headers=w.headers["agencyA"],
            json={
                "contract_id": w.ids["contractA"],
                "visit_date": today.isoformat(),
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "现场检查",
                "attachments": [w.ids["attachment"]],
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
        return r.json() if r.status_code == 201 else None

    log = await eventually(logged, timeout=30, interval=0.3)
    w.ids["log"] = log["id"]
    w.ids["hazard"] = log["hazards"][0]["id"]
    # … which opened its supervision case in the same transaction (SPEC §17)
    cases = await _ok(await api.get("/api/v1/supervision", params={"limit": 200}, headers=w.headers["bureauA"]), 200)
    w.ids["case"] = next(c["id"] for c in cases["items"] if c["hazard_id"] == w.ids["hazard"])
    complaint = await _ok(
        await api.post(
            "/api/v1/complaints",
            headers=w.headers["entA"],
            json={
                "agency_id": w.ids["agencyA"],
                "contract_id": w.ids["contractA"],
                "category": "service_quality",
                "description": "检查走过场",
            },
        )
    )
    w.ids["complaint"] = complaint["id"]
    report = await _ok(
        await api.post(
            "/api/v1/reports",
            json={
                "enterprise_name": "某某化工有限公司",
                "district_code": "440703",
                "address": "某某路 1 号",
                "category": "hazard",
                "description": "仓库堆放危化品",
                "contact_phone": "13800138000",
            },
        )
    )
    w.ids["report"] = report["id"]

    async def audit_knows_contract():
        r = await api.get(f"/api/v1/compliance/contracts/{w.ids['contractA']}", headers=w.headers["bureauA"])
        return r.status_code == 200

    await eventually(audit_knows_contract, timeout=30, interval=0.3)
    accident = await _ok(
        await api.post(
            "/api/v1/accidents",
            headers=w.headers["bureauA"],
            json={
                "enterprise_uscc": w.uscc["entA"],
                "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
                "severity": "general",
                "injuries": 1,
                "description": "车间轻微火情",
            },
        )
    )
    w.ids["accident"] = accident["id"]
    sample = await _ok(
        await api.post(
            "/api/v1/audits/sample",
            headers=w.headers["bureauA"],
            json={"period": f"{today.year}", "rate": 1.0, "seed": tag, "district": "440703"},
        )
    )
    w.ids["sample"] = sample["id"]
    w.ids["task"] = next(t["id"] for t in sample["tasks"] if str(t.get("contract_id")) == w.ids["contractA"])

    # A serious-dishonesty notice of enterprise A (SPEC §19): of the enterprise, so that no other row
    # sees a consequence (a listed agency would leave the directory and its contracts be refused).
    async def noticed():
        r = await api.post(
            "/api/v1/credit/listings",
            headers=w.headers["bureauA"],
            json={"org_uscc": w.uscc["entA"], "org_kind": "enterprise", "reason": "测试", "legal_basis": "测试"},
        )
        return r.json() if r.status_code == 201 else None

    w.ids["listing"] = (await eventually(noticed, timeout=30, interval=0.3))["id"]
    await _identity_actors(w, tag)
    await _notify_records(w)
    return w


async def _notify_records(w: World) -> None:
    """What the visit told enterprise A: the hazard's item in entA's inbox, and the webhook's
    first delivery (the log lists the newest attempt first)."""
    api = w.platform.client

    async def hazard_item() -> dict[str, Any] | None:
        r = await api.get("/api/v1/inbox", params={"kind": "hazard.reported"}, headers=w.headers["entA"])
        items = r.json()["items"] if r.status_code == 200 else []
        return next((i for i in items if i["subject_id"] == w.ids["hazard"]), None)

    w.ids["inbox_item"] = (await eventually(hazard_item, timeout=30, interval=0.3))["id"]

    async def first_delivery() -> dict[str, Any] | None:
        r = await api.get(f"/api/v1/webhooks/{w.ids['webhook']}/deliveries", headers=w.headers["entA"])
        items = r.json()["items"] if r.status_code == 200 else []
        return items[-1] if items else None

    first = await eventually(first_delivery, timeout=30, interval=0.3)
    assert first["status_code"] == 204, first
    assert first["event_id"] in w.receiver.received, "the delivery log names a delivery the receiver did not get"
    w.ids["delivery"] = first["id"]


async def _identity_actors(w: World, tag: str) -> None:
    """The SPEC §14 actors, and the organisation records the organisation rows act on."""
    platform, api = w.platform, w.platform.client
    admin = w.headers["admin"]
    for key in ("member", "throwaway"):  # invited into enterprise A's organisation by its admin (entA)
        code = (
            await _ok(
                await api.post(
                    f"/api/v1/organisations/{w.uscc['entA']}/invitations", json={}, headers=w.headers["entA"]
                )
            )
        )["code"]
        actor = await platform.actor("enterprise", org_uscc=w.uscc["entA"], invitation=code)
        w.headers[key], w.usernames[key], w.ids[key] = actor.headers, actor.username, actor.account["id"]
    w.uscc["pending"] = make_uscc(f"91440703MA{tag}P1"[:17])
    pending = await platform.actor("agency", org_uscc=w.uscc["pending"], verified=False)
    w.headers["pending"], w.usernames["pending"] = pending.headers, pending.username
    # the impostor claims enterprise C's USCC before its owner does; the bureau reassigns it
    w.uscc["entC"] = make_uscc(f"91440703MA{tag}C1"[:17])
    await _ok(
        await api.post(
            "/api/v1/enterprises",
            json=enterprise_body(w.uscc["entC"], f"企业C{tag}", "440703"),
            headers=w.headers["bureauA"],
        )
    )
    impostor = await platform.actor("enterprise", org_uscc=w.uscc["entC"], verified=False)
    w.headers["impostor"], w.usernames["impostor"] = impostor.headers, impostor.username
    owner = await _ok(
        await api.post(
            "/api/v1/admin/accounts",
            headers=admin,
            json={
                "username": f"owner{tag}".lower(),
                "password": "Pa55word-for-tests",
                "role": "enterprise",
                "org_uscc": w.uscc["entC"],
            },
        )
    )
    await _ok(
        await api.post(
            f"/api/v1/organisations/{w.uscc['entC']}/reassign",
            headers=w.headers["bureauA"],
            json={"account_id": owner["id"], "reason": "冒领"},
        )
    )
    disabled = await platform.actor("bureau", district="440703")
    w.headers["disabled"], w.usernames["disabled"] = disabled.headers, disabled.username
    await _ok(
        await api.post(
            f"/api/v1/admin/accounts/{disabled.account['id']}/disable", headers=admin, json={"reason": "离职"}
        )
    )
    # organisation S: what the bureaus' organisation actions (verify, suspend, …) really act on
    w.uscc["orgS"] = make_uscc(f"91440703MA{tag}K1"[:17])
    await _ok(
        await api.post(
            "/api/v1/admin/accounts",
            headers=admin,
            json={
                "username": f"orgs{tag}".lower(),
                "password": "Pa55word-for-tests",
                "role": "enterprise",
                "org_uscc": w.uscc["orgS"],
            },
        )
    )
    # the revocations reach every service within a few seconds (tests/identity: < 5 s)
    import asyncio

    for _ in range(50):
        statuses = {
            (await api.get("/api/v1/contracts", headers=w.headers[a])).status_code for a in ("impostor", "disabled")
        }
        if statuses == {401}:
            return
        await asyncio.sleep(0.1)
