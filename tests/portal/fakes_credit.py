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
        # the signed-in organisation's own records (agency a1, enterprise e1) and the pending
        # change queues: off unless a test turns them on, so that other tests see the fake as it was
        self.own = False
        self.changes: list[dict[str, Any]] = [
            {
                "id": "ch1",
                "agency_id": "a1",
                "status": "submitted",
                "changes": {"service_districts": ["440703", "440705"]},
                "reason": "扩大服务区域",
                "checks": [{"code": "staff.registered_engineers_min", "passed": True, "detail": "2 ≥ 2"}],
                "review_comments": None,
                "filed_by": "agency-1",
                "decided_by": None,
                "created_at": "2026-12-01T08:00:00Z",
                "decided_at": None,
            }
        ]
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
    state = state_of(fake)
    if state.own and request.headers.get("authorization"):
        answer = _own(state, request)
        if answer is not None:
            return answer
    if not path.startswith(("/api/v1/credit", "/api/v1/accidents")):
        return None
    authed = bool(request.headers.get("authorization"))
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
    return None


def _agency() -> dict[str, Any]:
    return {
        "id": "a1",
        "uscc": AGENCY_USCC,
        "name": "江门市安泰安全技术服务有限公司",
        "legal_representative": "李总",
        "contact_phone": "0750-3000000",
        "address": "江门市蓬江区建设路 1 号",
        "district_code": "440703",
        "status": "approved",
        "version": 3,
        "service_districts": ["440703"],
        "service_industries": ["machinery"],
        "staff": [
            {
                "name": "陈工",
                "role": "registered_safety_engineer",
                "certificate_no": "ZC-001",
                "certificate_valid_until": "2028-01-01",
                "full_time": True,
            }
        ],
        "qualifications": [],
        "checks": [],
    }


def _own(state: CreditState, request: httpx.Request) -> httpx.Response | None:
    path, method = request.url.path, request.method
    enterprise = {
        "id": "e1",
        "uscc": ENTERPRISE_USCC,
        "name": "蓬江五金厂",
        "district_code": "440703",
        "employees": 40,
        "risk_level": "yellow",
        "version": 1,
        "risk_inputs_pending": {
            "changes": {"employees": 8},
            "submitted_at": "2026-12-01T08:00:00+08:00",
            "submitted_by": "ent-1",
        },
    }
    if path in ("/api/v1/enterprises/e1", f"/api/v1/enterprises/by-uscc/{ENTERPRISE_USCC}") and method == "GET":
        return httpx.Response(200, json=enterprise)
    if path == "/api/v1/enterprises" and request.url.params.get("risk_inputs_pending") == "true":
        return httpx.Response(200, json={"items": [enterprise], "next_cursor": None})
    if path == "/api/v1/enterprises/e1/risk-inputs/review" and method == "POST":
        body = json.loads(request.content)
        if body.get("decision") not in ("accept", "reject"):
            return _problem(422, "内容未通过校验", "decision", "请选择同意或不同意")
        return httpx.Response(200, json={**enterprise, "risk_inputs_pending": None})
    if path == "/api/v1/agencies" and method == "GET":
        return httpx.Response(200, json={"items": [_agency()], "next_cursor": None})
    if path == "/api/v1/agencies/a1" and method == "GET":
        return httpx.Response(200, json=_agency())
    if path == "/api/v1/agencies/a1/changes" and method == "GET":
        return httpx.Response(200, json=state.changes)
    if path == "/api/v1/agencies/a1/changes" and method == "POST":
        body = json.loads(request.content)
        if "staff" in body and not body["staff"]:
            return _problem(422, "人员名单不满足要求", "staff", "至少需要 2 名注册安全工程师")
        if set(body) == {"reason"}:
            return _problem(422, "变更备案须至少变更一项")
        change = {**state.changes[0], "id": "ch2", "changes": {k: v for k, v in body.items() if k != "reason"}}
        change.update(
            reason=body["reason"], status="applied" if set(body) <= {"reason", "contact_phone"} else "submitted"
        )
        state.changes.insert(0, change)
        return httpx.Response(201, json=change)
    if path == "/api/v1/agencies/a1/changes/ch1/review" and method == "POST":
        body = json.loads(request.content)
        if body.get("decision") not in ("approve", "reject"):
            return _problem(422, "内容未通过校验", "decision", "请选择批准或不予批准")
        state.changes[-1].update(status="approved" if body["decision"] == "approve" else "rejected")
        state.changes[-1]["review_comments"] = body.get("comments")
        return httpx.Response(200, json=state.changes[-1])
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
