"""A stand-in for the gateway (its token endpoint, and the services behind it), for rendering tests
of the portal in-process (httpx.MockTransport): SPEC §7–§10 field names, canned data, and switches
to make a service fail. The portal calls only the gateway; the gateway's routing table says which
service a path belongs to."""

from __future__ import annotations

import base64
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI

from gateway.proxy import route_for
from portal.main import create_app
from shared.settings import Settings

NASTY = "<script>alert(1)</script>' OR 1=1; DROP TABLE agencies;--"


def fake_jwt(**claims: Any) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    body = {"exp": int(time.time()) + 900, "sub": "acc-1", **claims}
    return f"{b64({'alg': 'RS256', 'kid': 'k'})}.{b64(body)}.c2ln"


def directory_items() -> list[dict[str, Any]]:
    return [
        {
            "id": "a1",
            "name": "江门市安泰安全技术服务有限公司",
            "uscc": "91440700MA4UAAAA1X",
            "district_code": "440703",
            "filing_no": "JM-TG-2026-0001",
            "valid_until": "2029-11-28",
            "grade": "A",
            "credit_score": 100,
            "service_districts": ["440703", "440704"],
            "service_industries": ["machinery", "light_industry"],
            "registered_engineers": ["李工", "王工"],
            "active_contracts": 3,
            "remaining_capacity": 27,
        },
        {
            "id": "a2",
            "name": NASTY,
            "uscc": "91440700MA4UBBBB2X",
            "district_code": "440705",
            "filing_no": "JM-TG-2026-0002",
            "valid_until": "2029-11-28",
            "grade": "B",
            "credit_score": 80,
            "service_districts": ["440705"],
            "service_industries": ["hazardous_chemicals"],
            "registered_engineers": ["陈工", "黄工"],
            "active_contracts": 0,
            "remaining_capacity": 30,
        },
    ]


TREND_MEASURES = (
    "custody_coverage",
    "visits_delivered",
    "hazards_closed_on_time",
    "major_hazards_acknowledged_in_time",
    "complaints_answered_on_time",
)


class FakePlatform:
    def __init__(self) -> None:
        self.settings = Settings(
            _env_file=None,
            env="test",
            registry_port=18001,
            enterprises_port=18002,
            contracts_port=18003,
            audit_port=18004,
            gateway_port=18000,
            portal_session_secret="fake-portal-secret",
        )
        self.down: set[str] = set()
        self.calls: list[httpx.Request] = []
        self.token_claims: dict[str, Any] = {"role": "bureau", "district": "440700", "username": "jm-bureau"}
        self.refused_tokens: set[str] = set()
        # GET /api/v1/compliance/trends: two months, the second with no complaint due
        ratio = {"numerator": 3, "denominator": 4, "rate": 0.75}
        nothing = {"numerator": 0, "denominator": 0, "rate": None}
        self.trends: list[dict[str, Any]] = [
            {"month": month, **dict.fromkeys(TREND_MEASURES, ratio)} for month in ("2026-10", "2026-11")
        ]
        self.trends[1]["complaints_answered_on_time"] = nothing
        self.trends_asked: list[dict[str, str]] = []
        # a draft of enterprise 91440703MA4W000001 that its agency has signed
        self.draft: dict[str, Any] = {
            "id": "c9",
            "status": "draft",
            "version": 2,
            "enterprise_uscc": "91440703MA4W000001",
            "enterprise_name": "蓬江五金厂",
            "district_code": "440703",
            "agency_id": "a1",
            "agency_uscc": "91440700MA4UAAAA1X",
            "agency_name": "江门市安泰",
            "engineer_name": "陈工",
            "services": [{"item": "hazard_inspection", "times_per_year": 4}],
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
            "fee_yuan": "24000.00",
            "content_sha256": "a" * 64,
            "terms": {"engineer_name": "陈工", "fee_yuan": "24000.00"},
            "signatures": [{"party": "agency", "signed_at": "2026-11-30T09:00:00Z", "content_sha256": "a" * 64}],
            "voided_signatures": [],
            "history": [],
        }
        # the inbox (SPEC §15): notify's answers; "notify" in self.down makes it unreachable
        self.inbox: list[dict[str, Any]] = inbox_items()
        self.summary_calls = 0
        self.hooks: list[dict[str, Any]] = []
        self.orgs: list[dict[str, Any]] = [
            {
                "uscc": uscc,
                "kind": kind,
                "name": name,
                "status": status,
                "district": district,
                "version": 1,
                "created_at": "2026-12-01T08:00:00Z",
                "updated_at": "2026-12-01T08:00:00Z",
            }
            for uscc, kind, name, status, district in (
                ("91440703MA4W000009", "enterprise", NASTY, "pending", "440703"),
                ("91440700MA4UAAAA1X", "agency", "江门市安泰安全技术服务有限公司", "verified", "440700"),
            )
        ]
        self.members: list[dict[str, Any]] = [
            {"id": "acc-1", "username": "agency-admin", "role": "agency", "is_admin": True, "created_at": "2026-12-01"},
            {"id": "acc-2", "username": "li.gong", "role": "agency", "is_admin": False, "created_at": "2026-12-02"},
        ]
        self.deliveries: list[dict[str, Any]] = [
            {
                "id": "0000000d-0000-0000-0000-000000000001",
                "event_id": "ev-1",
                "event_type": "agency.approved",
                "attempt": 1,
                "status_code": None,
                "error": "timeout <b>",
                "at": "2026-12-02T08:00:00Z",
                "next_attempt_at": "2026-12-02T08:00:10Z",
            }
        ]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        assert request.url.port == 18000, "the portal calls the gateway only"
        assert not request.headers.get("cookie"), "the portal never passes browser cookies on"
        service = route_for(request.url.path) or "gateway"
        if service in self.down:
            raise httpx.ConnectError("down", request=request)
        path = request.url.path
        params = dict(request.url.params)
        auth = request.headers.get("authorization", "")
        if service == "gateway":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if path == "/oauth/token":
                if (
                    form.get("grant_type") == "authorization_code"
                    and form.get("code") == "good-code"
                    and form.get("code_verifier")
                    and form.get("client_id") == "custody-portal"
                ):
                    return httpx.Response(
                        200,
                        json={
                            "access_token": fake_jwt(**self.token_claims),
                            "token_type": "Bearer",
                            "expires_in": 900,
                            "refresh_token": "rt-1",
                        },
                    )
                if (
                    form.get("grant_type") == "refresh_token"
                    and form.get("refresh_token") == "rt-1"
                    and form.get("client_id") == "custody-portal"
                ):
                    return httpx.Response(
                        200,
                        json={
                            "access_token": fake_jwt(**self.token_claims),
                            "token_type": "Bearer",
                            "expires_in": 900,
                            "refresh_token": "rt-2",
                        },
                    )
                return httpx.Response(400, json={"error": "invalid_grant"})
            if path == "/api/v1/accounts" and request.method == "POST":
                body = json.loads(request.content)
                if body.get("org_uscc") == "BAD":
                    return httpx.Response(
                        422,
                        headers={"content-type": "application/problem+json"},
                        json={
                            "type": "about:blank",
                            "title": "Validation failed",
                            "status": 422,
                            "detail": "注册信息未通过校验",
                            "errors": [{"field": "org_uscc", "message": "统一社会信用代码无效"}],
                        },
                    )
                problem = {"content-type": "application/problem+json"}
                if body.get("invitation") == "USED-CODE":  # SPEC §14: single use
                    return httpx.Response(
                        409,
                        headers=problem,
                        json={
                            "title": "Conflict",
                            "status": 409,
                            "code": "invitation_invalid",
                            "detail": "邀请码无效、已使用或已过期",
                            "errors": [{"field": "invitation", "message": "无效"}],
                        },
                    )
                if body.get("org_uscc") == "91440703MA4W00000X" and not body.get("invitation"):
                    return httpx.Response(
                        409,
                        headers=problem,
                        json={
                            "title": "Conflict",
                            "status": 409,
                            "code": "organisation_exists",
                            "detail": "该统一社会信用代码的组织已在平台登记。请向本组织的管理员索取邀请码后注册",
                        },
                    )
                if body.get("org_uscc") in ("91440703MA4W00000X", "91440703MA4W00000P"):
                    return httpx.Response(
                        201,
                        json={
                            "id": "acc-10",
                            "username": body["username"],
                            "role": body["role"],
                            "org_uscc": body["org_uscc"],
                            "org_status": "verified" if body.get("invitation") else "pending",
                        },
                    )
                return httpx.Response(
                    201,
                    json={
                        "id": "acc-9",
                        "username": body["username"],
                        "role": body["role"],
                        "org_uscc": body["org_uscc"],
                    },
                )
            if path.startswith("/api/v1/organisations"):
                return self.organisations(request, path, params)
            return httpx.Response(200, json={})
        if any(t in auth for t in self.refused_tokens):
            return httpx.Response(401, json={"title": "Unauthorized"})
        if path in ("/api/v1/agencies/counts", "/api/v1/contracts/counts", "/api/v1/directory/counts"):
            return self.counts(request)
        if path == "/api/v1/directory/agencies":
            items = directory_items()
            if params.get("grade"):
                items = [i for i in items if i["grade"] == params["grade"]]
            if params.get("district"):
                items = [i for i in items if params["district"] in i["service_districts"]]
            if params.get("cursor") == "bad":
                return httpx.Response(422, json={"title": "Invalid cursor", "detail": "分页游标无效"})
            next_cursor = (
                "c2" if not params.get("cursor") and params.get("limit") == "25" and not params.get("grade") else None
            )
            return httpx.Response(200, json={"items": items, "next_cursor": next_cursor})
        if path == "/api/v1/policy":
            return httpx.Response(200, json=json.loads(open("shared/data/policy.json", encoding="utf-8").read()))
        if path == "/api/v1/policy/versions":  # the default and a version to come (SPEC §22)
            document = json.loads(Path("shared/data/policy.json").read_text(encoding="utf-8"))
            later = {**document, "policy_version": "2027.1", "title": "<script>x</script>二〇二七年版"}
            return httpx.Response(
                200,
                json=[
                    {
                        "version": 1,
                        "effective_from": None,
                        "published_at": None,
                        "published_by": None,
                        "policy": document,
                    },
                    {
                        "version": 2,
                        "effective_from": "2027-01-01",
                        "published_at": "2026-12-01T08:00:00Z",
                        "published_by": "bureau:jm-bureau",
                        "policy": later,
                    },
                ],
            )
        from tests.portal import fakes_credit  # credit, listings, accidents (SPEC §19, §20)

        if (answer := fakes_credit.routes(self, request)) is not None:
            return answer
        if not auth:
            return httpx.Response(401, json={"title": "Unauthorized"})
        if path == "/api/v1/agencies":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "id": "a1",
                            "name": "江门市安泰安全技术服务有限公司",
                            "status": "approved",
                            "district_code": "440703",
                            "noncompliant": True,
                            "valid_until": (date.today() + timedelta(days=10)).isoformat(),
                        },
                        {
                            "id": "a3",
                            "name": "新会区平安安全咨询有限公司",
                            "status": "submitted",
                            "district_code": "440705",
                            "submitted_at": "2026-11-27T08:00:00Z",
                        },
                        {
                            "id": "a4",
                            "name": NASTY,
                            "status": "submitted",
                            "district_code": "440703",
                            "submitted_at": None,
                        },
                    ],
                    "next_cursor": None,
                },
            )
        if path == "/api/v1/contracts":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "id": "c1",
                            "status": "active",
                            "district_code": "440703",
                            "enterprise_name": "蓬江五金厂",
                            "agency_name": "江门市安泰",
                            "start_date": "2026-01-01",
                            "end_date": "2026-12-31",
                            "agency_id": "a1",
                        },
                        {
                            "id": "c2",
                            "status": "filing",
                            "district_code": "440705",
                            "enterprise_name": "新会塑料制品厂",
                            "agency_name": "江门市安泰",
                            "start_date": "2026-12-01",
                            "end_date": "2027-11-30",
                            "agency_id": "a1",
                        },
                    ],
                    "next_cursor": None,
                },
            )
        if path == "/api/v1/hazards":
            status = params.get("status")
            items = [
                {
                    "id": "h1",
                    "status": "open",
                    "level": "major",
                    "district_code": "440703",
                    "description": "配电箱无防护",
                    "location": "车间",
                    "deadline": "2026-12-30",
                },
                {
                    "id": "h2",
                    "status": "overdue",
                    "level": "general",
                    "district_code": "440705",
                    "description": "=cmd|' /C calc'!A0",
                    "location": "仓库",
                    "deadline": "2026-10-01",
                },
            ]
            return httpx.Response(
                200, json={"items": [i for i in items if not status or i["status"] == status], "next_cursor": None}
            )
        if path == "/api/v1/complaints":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "id": "p1",
                            "status": "received",
                            "category": "missed_visit",
                            "district_code": "440703",
                            "received_on": "2026-11-20",
                            "description": "三个月没来检查",
                            "overdue": False,
                        },
                    ],
                    "next_cursor": None,
                },
            )
        if path == "/api/v1/compliance/summary":
            return httpx.Response(
                200,
                json={
                    "as_of": "2026-12-01",
                    "districts": {
                        "440703": {
                            "hazards": {"open": 1},
                            "major_hazards_open": 1,
                            "complaints": {"received": 1},
                            "complaints_overdue": 0,
                            "missed_visits": 2,
                            "audits": {},
                        },
                        "440705": {
                            "hazards": {"overdue": 1},
                            "major_hazards_open": 0,
                            "complaints": {},
                            "complaints_overdue": 0,
                            "missed_visits": 0,
                            "audits": {},
                        },
                    },
                },
            )
        if path == "/api/v1/contracts/c9" and request.method == "GET":
            return httpx.Response(200, json=self.draft, headers={"etag": f'"{self.draft["version"]}"'})
        if path == "/api/v1/contracts/c9/sign" and request.method == "POST":
            # the contracts service's rule (SPEC §9 v2): the signature names the current terms
            named = json.loads(request.content or b"{}").get("content_sha256")
            if named != self.draft["content_sha256"]:
                return httpx.Response(
                    412,
                    headers={"content-type": "application/problem+json"},
                    json={"title": "Precondition failed", "status": 412, "code": "precondition_failed"},
                )
            self.draft["signatures"].append(
                {"party": "enterprise", "signed_at": "2026-12-01T09:00:00Z", "content_sha256": named}
            )
            self.draft["version"] += 1
            return httpx.Response(200, json=self.draft)
        if path.startswith(("/api/v1/inbox", "/api/v1/webhooks")):
            return self.notify(request, path, params)
        if path.startswith("/api/v1/compliance/contracts/"):
            return httpx.Response(200, json={"items": [{"item": "hazard_inspection", "missed": 2}]})
        if (evidence := self.evidence(request, path, params)) is not None:
            return evidence
        return httpx.Response(404, json={"title": "Not found"})

    # --- evidence, disputes, the hazard loop, supervision (SPEC §16, §17) ----------------------------
    def evidence(self, request: httpx.Request, path: str, params: dict[str, str]) -> httpx.Response | None:
        problem = {"content-type": "application/problem+json"}
        body = json.loads(request.content or b"{}") if request.method == "POST" and b"{" in request.content[:1] else {}
        if path == "/api/v1/attachments" and request.method == "POST":
            if b"not-an-image" in request.content:
                return httpx.Response(
                    415,
                    headers=problem,
                    json={"title": "Unsupported", "status": 415, "detail": "不是 JPEG、PNG 或 PDF"},
                )
            self.uploads = getattr(self, "uploads", 0) + 1
            return httpx.Response(201, json={"id": f"0000000{self.uploads}-0000-0000-0000-00000000000a"})
        if path.startswith("/api/v1/attachments/") and request.method == "GET":
            return httpx.Response(
                200,
                content=b"\x89PNG\r\n\x1a\nfake",
                headers={"content-type": "image/png", "content-disposition": 'attachment; filename="a.png"'},
            )
        if path == "/api/v1/service-logs" and request.method == "POST":
            self.recorded = body
            return httpx.Response(201, json={**self.visit_log, **body, "status": "recorded"})
        if path == "/api/v1/service-logs" and request.method == "GET":
            items = [self.visit_log] if not params.get("status") or params["status"] == self.visit_log["status"] else []
            return httpx.Response(200, json={"items": items, "next_cursor": None})
        if path == f"/api/v1/service-logs/{self.visit_log['id']}":
            return httpx.Response(200, json=self.visit_log)
        if path.startswith(f"/api/v1/service-logs/{self.visit_log['id']}/"):
            action = path.rsplit("/", 1)[1]
            if action == "dispute" and not (body.get("reason") or "").strip():
                return httpx.Response(
                    422,
                    headers=problem,
                    json={
                        "title": "Validation failed",
                        "status": 422,
                        "detail": "请求参数无效",
                        "errors": [{"field": "reason", "message": "请填写理由"}],
                    },
                )
            if action == "resolve" and body.get("decision") not in ("uphold", "void"):
                return httpx.Response(
                    422,
                    headers=problem,
                    json={
                        "title": "Validation failed",
                        "status": 422,
                        "errors": [{"field": "decision", "message": "请选择裁决"}],
                    },
                )
            return httpx.Response(200, json=self.visit_log)
        if path == f"/api/v1/hazards/{self.hazard['id']}":
            return httpx.Response(200, json=self.hazard)
        if path.startswith(f"/api/v1/hazards/{self.hazard['id']}/"):
            if path.endswith("/reject-rectification") and not (body.get("reason") or "").strip():
                return httpx.Response(
                    422,
                    headers=problem,
                    json={
                        "title": "Validation failed",
                        "status": 422,
                        "errors": [{"field": "reason", "message": "请填写驳回理由"}],
                    },
                )
            return httpx.Response(200, json=self.hazard)
        if path == "/api/v1/compliance/trends":  # the dashboard's monthly rates (SPEC §22)
            self.trends_asked.append(params)
            return httpx.Response(200, json={"district": params.get("district"), "items": self.trends})
        if path == "/api/v1/supervision/counts":  # the dashboard's clocks (SPEC §17)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            late = params.get("overdue_ack") == "true"
            groups: dict[tuple[str, str], int] = {}
            for c in self.cases:
                if params.get("district") and c["district_code"] != params["district"]:
                    continue
                if late and not (c["status"] == "reported" and c["ack_due_at"] < now):
                    continue
                groups[(c["district_code"], c["status"])] = groups.get((c["district_code"], c["status"]), 0) + 1
            items = [{"district": d, "status": st, "count": n} for (d, st), n in sorted(groups.items())]
            return httpx.Response(
                200, json={"by": ["district", "status"], "items": items, "total": sum(groups.values())}
            )
        if path == "/api/v1/supervision":
            items = [c for c in self.cases if not params.get("status") or c["status"] == params["status"]]
            return httpx.Response(200, json={"items": items, "next_cursor": None})
        for case in self.cases:
            if path == f"/api/v1/supervision/{case['id']}":
                return httpx.Response(200, json=case)
            if path.startswith(f"/api/v1/supervision/{case['id']}/"):
                if path.endswith("/list") and (body.get("deadline") or "") < "2026-01-01":
                    return httpx.Response(
                        422,
                        headers=problem,
                        json={
                            "title": "Validation failed",
                            "status": 422,
                            "errors": [{"field": "deadline", "message": "期限不能早于今天"}],
                        },
                    )
                return httpx.Response(200, json=case)
        return None

    @property
    def visit_log(self) -> dict[str, Any]:
        if not hasattr(self, "_visit_log"):
            self._visit_log: dict[str, Any] = {
                "id": "0000000a-0000-0000-0000-000000000001",
                "contract_id": "c1",
                "agency_id": "a1",
                "enterprise_uscc": "91440703MA4W000001",
                "district_code": "440703",
                "visit_date": "2026-11-30",
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "例行检查",
                "attachments": ["00000001-0000-0000-0000-00000000000a"],
                "status": "disputed",
                "confirmed": False,
                "recorded_by": "acc-2",
                "recorded_at": "2026-11-30T09:00:00Z",
                "disputed_at": "2026-12-01T09:00:00Z",
                "dispute_reason": NASTY,
                "version": 2,
                "hazards": [],
            }
        return self._visit_log

    @property
    def hazard(self) -> dict[str, Any]:
        if not hasattr(self, "_hazard"):
            self._hazard: dict[str, Any] = {
                "id": "0000000b-0000-0000-0000-000000000001",
                "service_log_id": "0000000a-0000-0000-0000-000000000001",
                "contract_id": "c1",
                "agency_id": "a1",
                "enterprise_uscc": "91440703MA4W000001",
                "district_code": "440703",
                "description": "配电箱无防护",
                "level": "major",
                "location": "车间",
                "deadline": "2026-12-30",
                "status": "rectified",
                "photos": ["00000002-0000-0000-0000-00000000000a"],
                "rectify_note": "已加装防护罩",
                "rectify_attachments": ["00000003-0000-0000-0000-00000000000a"],
                "rectified_at": "2026-12-01T09:00:00Z",
                "created_at": "2026-11-30T09:00:00Z",
                "version": 3,
            }
        return self._hazard

    @property
    def cases(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_cases"):
            base = {
                "hazard_id": "0000000b-0000-0000-0000-000000000001",
                "contract_id": "c1",
                "agency_id": "a1",
                "enterprise_uscc": "91440703MA4W000001",
                "district_code": "440703",
                "opened_at": "2026-12-01T09:00:00Z",
                "ack_due_at": "2026-12-02T09:00:00Z",
                "version": 1,
            }
            self._cases: list[dict[str, Any]] = [
                {**base, "id": "0000000c-0000-0000-0000-000000000001", "status": "reported"},
                {
                    **base,
                    "id": "0000000c-0000-0000-0000-000000000002",
                    "status": "acknowledged",
                    "acknowledged_at": "2026-12-01T10:00:00Z",
                },
                {
                    **base,
                    "id": "0000000c-0000-0000-0000-000000000003",
                    "status": "listed",
                    "acknowledged_at": "2026-12-01T10:00:00Z",
                    "listed_at": "2026-12-01T11:00:00Z",
                    "deadline": "2000-01-01",
                    "measures": "停产整改",
                    "responsible": "张三",
                },
            ]
        return self._cases

    def notify(self, request: httpx.Request, path: str, params: dict[str, str]) -> httpx.Response:
        if path == "/api/v1/inbox/summary":
            self.summary_calls += 1
            unread = [i for i in self.inbox if not i["read_at"]]
            return httpx.Response(200, json={"unread": len(unread), "urgent": sum(1 for i in unread if i["urgent"])})
        if path == "/api/v1/inbox" and request.method == "GET":
            if params.get("cursor") == "bad":
                return httpx.Response(
                    422, headers={"content-type": "application/problem+json"}, json={"detail": "分页游标无效"}
                )
            items = [i for i in self.inbox if params.get("unread") != "true" or not i["read_at"]]
            items = [i for i in items if not params.get("kind") or i["kind"] == params["kind"]]
            return httpx.Response(200, json={"items": items, "next_cursor": "n2" if len(items) > 2 else None})
        if path == "/api/v1/inbox/read-all" and request.method == "POST":
            for i in self.inbox:
                i["read_at"] = i["read_at"] or "2026-12-02T08:00:00Z"
            return httpx.Response(200, json={"updated": len(self.inbox)})
        if path.startswith("/api/v1/inbox/") and path.endswith("/read") and request.method == "POST":
            for i in self.inbox:
                if path == f"/api/v1/inbox/{i['id']}/read":
                    i["read_at"] = i["read_at"] or "2026-12-02T08:00:00Z"
                    return httpx.Response(200, json=i)
            return httpx.Response(404, json={"title": "Not found"})
        return self.webhooks(request, path, params)

    def webhooks(self, request: httpx.Request, path: str, params: dict[str, str]) -> httpx.Response:
        problem = {"content-type": "application/problem+json"}
        if self.token_claims.get("role") in ("agency", "enterprise") and not self.token_claims.get("org_admin"):
            return httpx.Response(403, headers=problem, json={"title": "Forbidden", "detail": "仅组织管理员可管理回调"})
        if path == "/api/v1/webhooks" and request.method == "POST":
            body = json.loads(request.content)
            if not str(body.get("url", "")).startswith("https://"):
                errors = [{"field": "url", "message": "须为 https 地址"}]
                return httpx.Response(422, headers=problem, json={"detail": "校验未通过", "errors": errors})
            hook = {"id": f"0000000{len(self.hooks) + 1}-0000-0000-0000-00000000000a", "status": "active", **body}
            self.hooks.append(hook)
            return httpx.Response(201, json={**hook, "secret": "whsec_c2VjcmV0LXNob3duLW9uY2U="})
        if path == "/api/v1/webhooks":
            return httpx.Response(200, json={"items": self.hooks, "next_cursor": None})
        for hook in self.hooks:
            base = f"/api/v1/webhooks/{hook['id']}"
            if path == base and request.method == "DELETE":
                self.hooks.remove(hook)
                return httpx.Response(204)
            if path == base:
                return httpx.Response(200, json=hook)
            if path == f"{base}/deliveries":
                return httpx.Response(200, json={"items": self.deliveries, "next_cursor": None})
            if path.startswith(f"{base}/deliveries/") and path.endswith("/retry") and request.method == "POST":
                return httpx.Response(202, json={"delivery_id": path.split("/")[-2], "event_id": "e1", "queued": True})
        return httpx.Response(404, json={"title": "Not found"})

    def organisations(self, request: httpx.Request, path: str, params: dict[str, str]) -> httpx.Response:
        if not request.headers.get("authorization"):
            return httpx.Response(401, json={"title": "Unauthorized"})
        problem = {"content-type": "application/problem+json"}
        if path == "/api/v1/organisations":
            items = [o for o in self.orgs if not params.get("status") or o["status"] == params["status"]]
            items = [o for o in items if not params.get("district") or o["district"] == params["district"]]
            return httpx.Response(200, json={"items": items, "next_cursor": None})
        for org in self.orgs:
            base = f"/api/v1/organisations/{org['uscc']}"
            if path == base:
                return httpx.Response(200, json=org)
            if path == f"{base}/verify" and request.method == "POST":
                body = json.loads(request.content)
                if request.headers.get("if-match") != f'"{org["version"]}"':
                    return httpx.Response(412, headers=problem, json={"title": "Precondition failed"})
                if body.get("decision") == "reject" and not body.get("comments"):
                    errors = [{"field": "comments", "message": "驳回须说明理由"}]
                    return httpx.Response(422, headers=problem, json={"detail": "校验未通过", "errors": errors})
                org["status"] = "verified" if body.get("decision") == "verify" else "rejected"
                org["version"] += 1
                return httpx.Response(200, json=org)
            if path == f"{base}/members":
                return httpx.Response(200, json={"uscc": org["uscc"], "items": self.members})
            if path == f"{base}/invitations" and request.method == "POST":
                return httpx.Response(201, json={"code": "INV-7Q2K-9XPA", "expires_at": "2026-12-09T08:00:00Z"})
            if path.startswith(f"{base}/members/") and request.method == "DELETE":
                self.members = [m for m in self.members if m["id"] != path.rsplit("/", 1)[1]]
                return httpx.Response(204)
        return httpx.Response(404, json={"title": "Not found"})

    def counts(self, request: httpx.Request) -> httpx.Response:
        """The count endpoints (D53) over this fake's own list: its items, filtered and grouped."""
        params = dict(request.url.params)
        if not request.headers.get("authorization") and "/directory/" not in request.url.path:
            return httpx.Response(401, json={"title": "Unauthorized"})
        by = params.get("by", "district,status").split(",")
        if any(b not in ("district", "status", "grade", "town") for b in by):
            return httpx.Response(422, json={"title": "Invalid dimensions to count by"})
        listed = request.url.path.removesuffix("/counts") + ("/agencies" if "/directory/" in request.url.path else "")
        url = request.url.copy_with(path=listed, query=b"limit=1000000")
        listing = self.handler(httpx.Request("GET", url, headers=request.headers))
        self.calls.pop()  # the fake's own look-up is no upstream call
        groups: dict[tuple[str, ...], int] = {}
        for item in listing.json()["items"]:
            if params.get("status") and item.get("status") != params["status"]:
                continue
            if params.get("district") and item.get("district_code") != params["district"]:
                continue
            if params.get("town") and item.get("town") != params["town"]:
                continue
            if params.get("ending_before") and not str(item.get("end_date") or "9999") < params["ending_before"]:
                continue
            if params.get("noncompliant") == "true" and item.get("noncompliant") is not True:
                continue
            if (
                params.get("valid_until_before")
                and not str(item.get("valid_until") or "9") < params["valid_until_before"]
            ):
                continue
            key = tuple(str(item.get("district_code") if b == "district" else item.get(b)) for b in by)
            groups[key] = groups.get(key, 0) + 1
        items = [{**dict(zip(by, key, strict=True)), "count": n} for key, n in sorted(groups.items())]
        return httpx.Response(
            200,
            json={"by": by, "as_of": "2026-12-01T08:00:00Z", "items": items, "total": sum(groups.values())},
        )

    def app(self) -> FastAPI:
        return create_app(self.settings, transport=httpx.MockTransport(self.handler))


def inbox_items() -> list[dict[str, Any]]:
    def item(n: int, kind: str, urgent: bool, link: str | None, title: str) -> dict[str, Any]:
        return {
            "id": f"00000000-0000-0000-0000-00000000000{n}",
            "kind": kind,
            "urgent": urgent,
            "title": title,
            "body": f"{title}（详情）",
            "link": link,
            "subject_id": None,
            "created_at": f"2026-12-0{n}T08:00:00Z",
            "due_at": "2026-12-30T00:00:00Z" if kind == "hazard.reported" else None,
            "read_at": None,
        }

    return [
        item(1, "hazard.reported", True, "/api/v1/hazards/h1", "发现重大隐患"),
        item(2, "contract.signed", False, "/api/v1/contracts/c9", "协议已签署"),
        item(3, "organisation.verified", False, "/api/v1/organisations/91440700MA4UAAAA1X", NASTY),
    ]
