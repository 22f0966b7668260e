"""The fake gateway's credit, dishonesty-list and accident routes (SPEC §19, §20 field names), for
tests/portal/test_credit.py: ``routes(fake, request)`` answers the paths it knows, None for the rest."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.portal.fakes import NASTY

AGENCY_USCC = "91440700MA4UAAAA1X"
ENTERPRISE_USCC = "91440703MA4W000001"
PROBLEM = {"content-type": "application/problem+json"}


def _problem(status: int, detail: str, field: str | None = None, message: str = "") -> httpx.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": "Refused", "status": status, "detail": detail}
    if field:
        body["errors"] = [{"field": field, "message": message}]
    return httpx.Response(status, headers=PROBLEM, json=body)


class CreditState:
    def __init__(self) -> None:
        self.listing: dict[str, Any] = {
            "id": "l1",
            "org_uscc": AGENCY_USCC,
            "org_kind": "agency",
            "name": "江门市安泰安全技术服务有限公司",
            "district_code": "440703",
            "reason": "出具虚假报告",
            "legal_basis": "《安全生产严重失信主体名单管理办法》第六条",
            "status": "noticed",
            "noticed_on": "2026-12-01",
            "objection_until": "2026-12-06",
            "created_by": "jm-bureau",
            "created_at": "2026-12-01T08:00:00Z",
            "version": 1,
        }
        self.records: list[dict[str, Any]] = [
            {
                "id": "r1",
                "agency_id": "a1",
                "kind": "complaint_upheld",
                "delta": -5,
                "at": "2026-11-20T08:00:00Z",
                "ref": "p1",
                "reason": None,
                "recorded_by": None,
                "version": 1,
            }
        ]


def state_of(fake: Any) -> CreditState:
    state: CreditState = fake.__dict__.setdefault("credit_state", CreditState())
    return state


def _listings(fake: Any, request: httpx.Request, authed: bool) -> httpx.Response:
    params = dict(request.url.params)
    state = state_of(fake)
    if not authed or fake.token_claims.get("role") not in ("bureau", "admin"):
        if params.get("status") not in (None, "listed"):
            return _problem(401 if not authed else 403, "公开名单只含已列入的记录")
        public = [
            {
                "name": NASTY,
                "org_uscc": "91440705MA4UCCCC3X",
                "reason": '=HYPERLINK("x")',
                "listed_at": "2026-06-01",
                "until": "2029-06-01",
            }
        ]
        return httpx.Response(200, json={"items": public, "next_cursor": None})
    items = [state.listing]
    if params.get("status"):
        items = [i for i in items if i["status"] == params["status"]]
    return httpx.Response(200, json={"items": items, "next_cursor": None})


def _listing_action(fake: Any, request: httpx.Request, action: str) -> httpx.Response:
    listing = state_of(fake).listing
    if request.headers.get("if-match") != f'"{listing["version"]}"':
        return _problem(412, "版本已变化")
    body = json.loads(request.content or b"{}")
    text = (body.get("statement") if action != "decide" else body.get("reasons")) or ""
    if not text.strip():
        return _problem(422, "内容未通过校验", "statement" if action != "decide" else "reasons", "不能为空")
    allowed = {
        "objection": {"noticed": "objected"},
        "repair": {"repairable": "repair_requested"},
        "decide": {"objected": {"list": "listed", "withdraw": "withdrawn"}, "repair_requested": {}},
    }[action]
    step = allowed.get(listing["status"])
    if isinstance(step, dict):
        step = step.get(body.get("decision"))
        if step is None:
            return _problem(422, "决定无效", "decision", "此状态下不可作此决定")
    if step is None:
        return _problem(409, "当前状态不允许此操作")
    listing.update(status=step, version=listing["version"] + 1)
    if action == "objection":
        listing["objection"] = body["statement"]
    if action == "decide":
        listing.update(decision=body["decision"], decision_reasons=body["reasons"])
    return httpx.Response(200, json=listing)


def routes(fake: Any, request: httpx.Request) -> httpx.Response | None:
    path, method = request.url.path, request.method
    if not path.startswith(("/api/v1/credit", "/api/v1/accidents", "/api/v1/enterprises/")):
        return None
    authed = bool(request.headers.get("authorization"))
    state = state_of(fake)
    if path == "/api/v1/credit/listings" and method == "GET":
        return _listings(fake, request, authed)
    if not authed:
        return httpx.Response(401, json={"title": "Unauthorized"})
    if path == "/api/v1/credit/listings" and method == "POST":
        body = json.loads(request.content)
        if body.get("org_uscc") == "BAD":
            return _problem(422, "拟列入信息未通过校验", "org_uscc", "统一社会信用代码无效")
        return httpx.Response(201, json={**state.listing, "id": "l9", "org_uscc": body["org_uscc"]})
    if path == "/api/v1/credit/listings/l1" and method == "GET":
        return httpx.Response(200, json=state.listing, headers={"etag": f'"{state.listing["version"]}"'})
    for action in ("objection", "repair", "decide"):
        if path == f"/api/v1/credit/listings/l1/{action}" and method == "POST":
            return _listing_action(fake, request, action)
    if path == "/api/v1/credit/agencies/a1" and method == "GET":
        score = 100 + sum(r["delta"] for r in state.records)
        return httpx.Response(
            200, json={"agency_id": "a1", "score": score, "grade": "A", "version": 1, "records": state.records}
        )
    if path == "/api/v1/credit/agencies/a1/records" and method == "POST":
        body = json.loads(request.content)
        if not isinstance(body.get("delta"), int):
            return _problem(422, "内容未通过校验", "delta", "须为整数")
        if (body["kind"] == "violation") != (body["delta"] < 0):
            return _problem(422, "分值方向与类别不符", "delta", "违规记录须为负分，表彰须为正分")
        record = {"id": "r2", "agency_id": "a1", "at": "2026-12-02T08:00:00Z", "recorded_by": "jm-bureau", **body}
        state.records.append({**record, "version": 1})
        return httpx.Response(201, json=record)
    if path == "/api/v1/credit/enterprises/e1" and method == "GET":
        return httpx.Response(
            200,
            json={
                "enterprise_id": "e1",
                "enterprise_uscc": ENTERPRISE_USCC,
                "score": 90,
                "grade": "A",
                "version": 2,
                "records": [
                    {
                        "id": "er1",
                        "kind": "hazard_overdue_major",
                        "delta": -10,
                        "reason": "重大隐患逾期未整改",
                        "ref": "h1",
                        "hazard_id": "h1",
                        "at": "2026-11-01T00:00:00Z",
                        "version": 1,
                    }
                ],
            },
        )
    if path.startswith("/api/v1/accidents"):
        return _accidents(state, request)
    enterprise = {"id": "e1", "uscc": ENTERPRISE_USCC, "name": "蓬江五金厂", "district_code": "440703", "version": 1}
    if path in ("/api/v1/enterprises/e1", f"/api/v1/enterprises/by-uscc/{ENTERPRISE_USCC}") and method == "GET":
        return httpx.Response(200, json=enterprise)
    return None


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _accident() -> dict[str, Any]:
    return {
        "id": "x1",
        "enterprise_uscc": ENTERPRISE_USCC,
        "enterprise_name": "蓬江五金厂",
        "district_code": "440703",
        "occurred_at": "2026-11-30T06:30:00Z",
        "severity": "general",
        "deaths": 0,
        "injuries": 2,
        "description": "冲床伤手",
        "recorded_by": "jm-bureau",
        "created_at": "2026-11-30T08:00:00Z",
        "agency_at_fault": None,
        "credit_record_ids": [],
        "version": 1,
    }


def _dossier(accident: dict[str, Any]) -> dict[str, Any]:
    return {
        "accident": accident,
        "as_of": accident["occurred_at"],
        "visits_from": "2025-11-30",
        "contracts": [
            {
                "id": "c1",
                "agency_id": "a1",
                "agency_name": "江门市安泰",
                "engineer_name": "陈工",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "services": [],
            }
        ],
        "visits": [
            {
                "id": "v1",
                "contract_id": "c1",
                "visit_date": "2026-09-01",
                "engineer_name": "陈工",
                "items": ["hazard_inspection"],
                "summary": "巡查",
                "recorded_at": "2026-09-01T08:00:00Z",
                "state": "disputed",
            }
        ],
        "hazards": [
            {
                "id": "h1",
                "service_log_id": "v1",
                "description": NASTY,
                "level": "major",
                "location": "冲压车间",
                "deadline": "2026-10-01",
                "created_at": "2026-09-01T08:00:00Z",
                "state": "overdue",
            }
        ],
        "complaints": [],
        "audits": [],
        "credit_records": [
            {"id": "r1", "agency_id": "a1", "kind": "missed_visit", "delta": -2, "at": "2026-10-01T00:00:00Z"}
        ],
        "credit": [{"agency_id": "a1", "score": 98, "grade": "A"}],
    }


def _accidents(state: CreditState, request: httpx.Request) -> httpx.Response | None:
    path, method = request.url.path, request.method
    accident = state.__dict__.setdefault("accident", _accident())
    if path == "/api/v1/accidents" and method == "GET":
        return httpx.Response(200, json={"items": [accident], "next_cursor": None})
    if path == "/api/v1/accidents" and method == "POST":
        body = json.loads(request.content)
        if not str(body.get("occurred_at", "")).endswith("+08:00"):
            return _problem(422, "内容未通过校验", "occurred_at", "须为带时区的时间")
        if body.get("enterprise_uscc") != ENTERPRISE_USCC:
            return _problem(422, "内容未通过校验", "enterprise_uscc", "未登记的企业")
        return httpx.Response(201, json={**accident, **body, "id": "x1"})
    if path == "/api/v1/accidents/x1" and method == "GET":
        return httpx.Response(200, json=accident)
    if path == "/api/v1/accidents/x1/dossier" and method == "GET":
        if XLSX in request.headers.get("accept", ""):
            return httpx.Response(200, headers={"content-type": XLSX}, content=b"PK\x03\x04fake-workbook")
        return httpx.Response(200, json=_dossier(accident))
    if path == "/api/v1/accidents/x1/findings" and method == "POST":
        body = json.loads(request.content)
        if accident["agency_at_fault"] is not None:
            return _problem(409, "调查结论已登记")
        if not body.get("findings"):
            return _problem(422, "内容未通过校验", "findings", "不能为空")
        accident.update(agency_at_fault=body["agency_at_fault"], findings=body["findings"])
        return httpx.Response(200, json=accident)
    return None
