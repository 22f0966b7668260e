"""How to call each operation of the merged OpenAPI on the security world: path parameters filled
with world A's records, a valid body for every write (so that a refusal is an authorization
decision, not a validation error)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared.policy import load_policy
from tests.files import png
from tests.security.world import (
    PDF,
    World,
    agency_body,
    contract_body,
    enterprise_body,
    fresh_webhook,
    webhook_body,
)

PATH_IDS = {
    "agency_id": "agencyA",
    "document_id": "documentA",
    "change_id": "change",  # agency A's change filing
    "attachment_id": "attachment",  # agency A's photo, named on world A's service log
    "enterprise_id": "enterpriseA",
    "contract_id": "contractA",
    "log_id": "log",
    "hazard_id": "hazard",
    "task_id": "task",
    "sample_id": "sample",
    "complaint_id": "complaint",
    "case_id": "case",  # the supervision case of world A's major hazard
    "listing_id": "listing",  # enterprise A's dishonesty notice
    "report_id": "report",  # an anonymous public report about a firm of 440703
    "accident_id": "accident",  # an accident at enterprise A (SPEC §20)
    "item_id": "inbox_item",  # notify: entA's item of the major hazard
    "subscription_id": "webhook",  # enterprise A's webhook
    "delivery_id": "delivery",  # … and its first delivery
}
SERVICE_QUERY = {
    "/api/v1/admin/dlq",
    "/api/v1/admin/dlq/{dead_letter_id}/replay",
    "/api/v1/admin/audit-trail/verify",
    "/api/v1/admin/audit-trail",
    "/api/v1/admin/audit-trail/heads",
    "/api/v1/admin/sweep",
}


ORG_ACTIONS = ("/verify", "/suspend", "/reinstate", "/reassign")


def fill_path(w: World, path: str) -> str:
    out = path
    for name, key in PATH_IDS.items():
        out = out.replace("{" + name + "}", w.ids[key])
    if path.startswith("/api/v1/organisations/{uscc}") and path.endswith(ORG_ACTIONS):
        out = out.replace("{uscc}", w.uscc["orgS"])  # the bureau's actions act on organisation S
    out = out.replace("{uscc}", w.uscc["entA"]).replace("{dead_letter_id}", str(uuid.uuid4()))
    out = out.replace("{account_id}", w.ids["throwaway"]).replace("{client_id}", f"cl-{uuid.uuid4().hex[:24]}")
    out = out.replace("{kid}", uuid.uuid4().hex)
    return out


# Calls that delete the record they name act on one of their own, made by its owner just before:
# an allowed caller's delete must not leave the next caller a 404, nor the other rows without it.
FRESH = {"DELETE /api/v1/webhooks/{subscription_id}": ("{subscription_id}", fresh_webhook)}


async def target(w: World, method: str, path: str) -> str:
    """``fill_path``, with a fresh record where the call would delete the world's."""
    fresh = FRESH.get(f"{method} {path}")
    if fresh is not None:
        placeholder, make = fresh
        path = path.replace(placeholder, await make(w))
    return fill_path(w, path)


def body_for(w: World, method: str, path: str) -> dict[str, Any]:
    """Keyword arguments for ``httpx.AsyncClient.request``."""
    today = dt.date.today()
    unique = uuid.uuid4().hex[:8]
    kw: dict[str, Any] = {}
    if path in SERVICE_QUERY:
        kw["params"] = {"service": "registry"}
    if f"{method} {path}" == "GET /api/v1/credit/listings":
        kw["params"] = {"status": "listed"}  # the public list (other states: bureaus only)
    key = f"{method} {path}"
    bodies: dict[str, Any] = {
        "POST /api/v1/accounts": {
            "username": f"signup{unique}",
            "password": "Pa55word-for-tests",
            "role": "enterprise",
            "org_uscc": w.uscc["entB"],
            "display_name": "x",
        },
        "POST /api/v1/admin/accounts": {
            "username": f"acct{unique}",
            "password": "Pa55word-for-tests",
            "role": "bureau",
            "district": "440703",
        },
        "POST /api/v1/admin/clients": {"username": w.usernames["agencyA"], "name": f"c{unique}"},
        "POST /api/v1/me/clients": {"name": f"c{unique}"},
        "POST /api/v1/admin/keys/rotate": {},
        "POST /api/v1/agencies": agency_body(w.uscc["agencyA"], "机构", "440703"),
        "PATCH /api/v1/agencies/{agency_id}": {"contact_phone": "13800138001"},
        "PATCH /api/v1/me": {"language": "zh-CN"},
        "POST /api/v1/agencies/{agency_id}/review": {"decision": "approve", "comments": "ok"},
        "POST /api/v1/agencies/{agency_id}/suspend": {"reason": "test"},
        "POST /api/v1/agencies/{agency_id}/reinstate": {"reason": "test"},
        "POST /api/v1/agencies/{agency_id}/revoke": {"reason": "test"},
        "POST /api/v1/enterprises": enterprise_body(w.uscc["entA"], "企业", "440703"),
        "PATCH /api/v1/enterprises/{enterprise_id}": {"contact_name": "赵六"},
        "POST /api/v1/enterprises/{enterprise_id}/risk-inputs/review": {"decision": "reject", "comments": "未核实"},
        "POST /api/v1/contracts": contract_body(w.uscc["entA"], w.ids["agencyA"]),
        "PATCH /api/v1/contracts/{contract_id}": {"fee_yuan": 13000},
        "POST /api/v1/contracts/{contract_id}/sign": {"content_sha256": w.ids["contractA_sha256"]},
        "POST /api/v1/contracts/{contract_id}/filing-review": {"decision": "accept", "comments": "ok"},
        "POST /api/v1/contracts/{contract_id}/terminate": {"reason": "test"},
        "POST /api/v1/contracts/{contract_id}/cancel": {"reason": "test"},
        "POST /api/v1/service-logs": {
            "contract_id": w.ids["contractA"],
            "visit_date": today.isoformat(),
            "engineer_name": "陈工",
            "items": ["hazard_inspection"],
            "summary": "检查",
        },
        "POST /api/v1/service-logs/{log_id}/dispute": {"reason": "当天无人到场"},
        "POST /api/v1/service-logs/{log_id}/resolve": {"decision": "uphold", "notes": "核实"},
        "POST /api/v1/hazards/{hazard_id}/rectify": {"note": "已整改"},
        "POST /api/v1/hazards/{hazard_id}/verify": {"note": "已复核"},
        "POST /api/v1/hazards/{hazard_id}/reject-rectification": {"reason": "未整改到位"},
        "POST /api/v1/audits/sample": {
            "period": f"{today.year}-{today.month:02d}",
            "rate": 1.0,
            "seed": unique,
            "district": "440703",
        },
        "POST /api/v1/audits/{task_id}/result": {
            "scores": [{"criterion": "服务记录", "score": 80}],
            "findings": "ok",
            "fraud": False,
        },
        "POST /api/v1/complaints": {
            "agency_id": w.ids["agencyA"],
            "category": "other",
            "description": "匿名反映",
            "contact_phone": "13800138000",
        },
        "POST /api/v1/complaints/track": {"id": w.ids["complaint"], "tracking_code": "guessed-code-0000"},
        "POST /api/v1/complaints/{complaint_id}/forward": {},
        "POST /api/v1/reports": {
            "enterprise_name": "某某化工有限公司",
            "district_code": "440703",
            "address": "某某路 1 号",
            "category": "hazard",
            "description": "仓库堆放危化品",
            "contact_phone": "13800138000",
        },
        "POST /api/v1/reports/track": {"tracking_code": "guessed-code-0000", "contact_phone": "13800138000"},
        "POST /api/v1/reports/{report_id}/assign": {"town": "某某镇", "notes": "请核查"},
        "POST /api/v1/reports/{report_id}/handle": {"notes": "已核查"},
        "POST /api/v1/reports/{report_id}/close": {"outcome": "substantiated", "notes": "属实"},
        "POST /api/v1/accidents": {
            "enterprise_uscc": w.uscc["entA"],
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "severity": "general",
            "description": "车间轻微火情",
        },
        # not at fault: no credit record on agency A (the first allowed caller's answer; then 409)
        "POST /api/v1/accidents/{accident_id}/findings": {"agency_at_fault": False, "findings": "企业自身责任"},
        "POST /api/v1/complaints/{complaint_id}/respond": {"response": "已处理"},
        "POST /api/v1/complaints/{complaint_id}/resolve": {"outcome": "dismissed", "notes": "ok"},
        "POST /api/v1/supervision/{case_id}/list": {
            "deadline": (today + dt.timedelta(days=30)).isoformat(),
            "measures": "停产整改",
            "responsible": "张三",
        },
        "POST /api/v1/supervision/{case_id}/close": {"notes": "复查合格"},  # the hazard is not verified: 409
        # a commendation without a reference: each allowed caller's is a record of its own (at the cap: 100)
        "POST /api/v1/credit/agencies/{agency_id}/records": {"kind": "commendation", "delta": 1, "reason": "test"},
        # a contact change applies at once; the review rejects (agency A's filing stays as it is)
        "POST /api/v1/agencies/{agency_id}/changes": {"contact_phone": "13800138000", "reason": "test"},
        "POST /api/v1/agencies/{agency_id}/changes/{change_id}/review": {"decision": "reject", "comments": "test"},
        # training, not a safety evaluation: the matrix's later contracts of agency A stay possible
        "POST /api/v1/agencies/{agency_id}/engagements": {
            "enterprise_uscc": w.uscc["entA"],
            "kind": "training",
            "from": "2025-01-01",
            "to": "2025-01-31",
        },
        # the dishonesty list: enterprise A's notice exists (a second one: 409); the decision withdraws it
        # (never ``list``: no credit.listed, which fresh webhooks subscribe to as an event not emitted again)
        "POST /api/v1/credit/listings": {
            "org_uscc": w.uscc["entA"],
            "org_kind": "enterprise",
            "reason": "test",
            "legal_basis": "test",
        },
        "POST /api/v1/credit/listings/{listing_id}/objection": {"statement": "test"},
        "POST /api/v1/credit/listings/{listing_id}/decide": {"decision": "withdraw", "reasons": "test"},
        "POST /api/v1/credit/listings/{listing_id}/repair": {"statement": "test"},
        "POST /api/v1/me/password": {"current_password": "not-the-password", "new_password": "Another-pa55word"},
        "POST /api/v1/admin/accounts/{account_id}/disable": {"reason": "test"},
        "POST /api/v1/admin/accounts/{account_id}/enable": {"reason": "test"},
        "POST /api/v1/organisations/{uscc}/verify": {"decision": "verify", "comments": "ok"},
        "POST /api/v1/organisations/{uscc}/suspend": {"reason": "test"},
        "POST /api/v1/organisations/{uscc}/reinstate": {"reason": "test"},
        "POST /api/v1/organisations/{uscc}/reassign": {"account_id": str(uuid.uuid4()), "reason": "test"},
        "POST /api/v1/webhooks": webhook_body(w),
        # a version of the policy effective today with the default document: nothing changes (SPEC §22)
        "POST /api/v1/policy/versions": {
            "effective_from": dt.datetime.now(dt.UTC).date().isoformat(),
            "policy": load_policy().model_dump(mode="json"),
        },
    }
    if key == "POST /api/v1/agencies/{agency_id}/documents":
        kw["files"] = {"file": ("l.pdf", PDF, "application/pdf")}
        kw["data"] = {"kind": "other"}
    elif key == "POST /api/v1/attachments":
        kw["files"] = {"file": ("p.png", png(), "image/png")}
    elif key == "POST /api/v1/enterprises/import":
        e = enterprise_body(w.uscc["entA"], "企业A", "440703")
        cols = list(e)
        row = [str(e[c]).lower() if isinstance(e[c], bool) else ("" if e[c] == [] else str(e[c])) for c in cols]
        kw["content"] = (",".join(cols) + "\n" + ",".join(row) + "\n").encode()
        kw["headers"] = {"Content-Type": "text/csv"}
    elif key in bodies:
        kw["json"] = bodies[key]
    elif method in ("POST", "PATCH", "PUT"):
        kw["json"] = {}
    return kw
