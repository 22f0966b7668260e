"""A stand-in for the gateway (its token endpoint, and the services behind it), for rendering tests
of the portal in-process (httpx.MockTransport): SPEC §7–§10 field names, canned data, and switches
to make a service fail. The portal calls only the gateway; the gateway's routing table says which
service a path belongs to."""

from __future__ import annotations

import base64
import json
import time
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
                return httpx.Response(
                    201,
                    json={
                        "id": "acc-9",
                        "username": body["username"],
                        "role": body["role"],
                        "org_uscc": body["org_uscc"],
                    },
                )
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
        if path.startswith("/api/v1/compliance/contracts/"):
            return httpx.Response(200, json={"items": [{"item": "hazard_inspection", "missed": 2}]})
        return httpx.Response(404, json={"title": "Not found"})

    def counts(self, request: httpx.Request) -> httpx.Response:
        """The count endpoints (D-COUNTS) over this fake's own list: its items, filtered and grouped."""
        params = dict(request.url.params)
        if not request.headers.get("authorization") and "/directory/" not in request.url.path:
            return httpx.Response(401, json={"title": "Unauthorized"})
        by = params.get("by", "district,status").split(",")
        if any(b not in ("district", "status", "grade") for b in by):
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
            if params.get("ending_before") and not str(item.get("end_date") or "9999") < params["ending_before"]:
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
