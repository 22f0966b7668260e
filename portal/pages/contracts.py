"""Custody contracts (SPEC §9): the list, drafting (by the agency or the enterprise), the contract
with its terms and their hash, signatures and history; signing (naming what is signed: the terms'
hash and the version), filing, cancelling, terminating; and the bureau's filing review."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.web import Exit, Form, View, integer, view_of
from shared.reference import ServiceItem

router = APIRouter(include_in_schema=False)
CONTRACT_FIELDS = {"enterprise_uscc", "agency_id", "engineer_name", "services", "start_date", "end_date", "fee_yuan"}
ACTIONS = ("sign", "file", "cancel", "terminate", "review")  # (and "edit": amend_form/amend)


def party_of(v: View, contract: dict[str, Any]) -> str | None:
    """Which party the signed-in person is of this contract, if any."""
    org = (v.user or {}).get("org_uscc")
    if v.role == "agency" and org and org == contract.get("agency_uscc"):
        return "agency"
    if v.role == "enterprise" and org and org == contract.get("enterprise_uscc"):
        return "enterprise"
    return None


@router.get("/portal/contracts")
async def contracts(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    status = request.query_params.get("status") or ""
    status = status if status in labels.CONTRACT_STATUS else ""
    params = {"status": status or None, "limit": 50, "cursor": request.query_params.get("cursor") or None}
    items, cursor = await v.api.page("/api/v1/contracts", params)
    return v.render(
        "contracts.html",
        items=items,
        next_cursor=cursor,
        sel_status=status,
        statuses=labels.choices("contract_status", v.lang),
    )


# --- drafting ---------------------------------------------------------------------------------------
async def _draft_context(v: View, form: Form) -> dict[str, Any]:
    """What the drafting form needs: the agency (its engineers) and, for an enterprise, its record."""
    agency: dict[str, Any] | None = None
    agency_id = form.text("agency_id")
    agencies: list[tuple[str, str]] = []
    if v.role == "agency":
        items, _ = await v.api.page("/api/v1/agencies", {"limit": 50})
        mine = [a for a in items if a.get("uscc") == (v.user or {}).get("org_uscc")]
        agency = mine[0] if mine else None
        if agency:
            form.values["agency_id"] = str(agency["id"])
    else:
        try:
            listed, _ = await v.api.collect("/api/v1/directory/agencies", {}, max_items=1000)
            agencies = sorted(
                ((str(a["id"]), f"{a['name']} · {a.get('grade')} · {a.get('filing_no')}") for a in listed),
                key=lambda kv: kv[1],
            )
        except ApiError:
            agencies = []
        if agency_id:
            try:
                agency = await v.api.get(f"/api/v1/agencies/{agency_id}")
            except ApiError as exc:
                if exc.unauthorized:
                    raise
                form.errors.setdefault("agency_id", v.t("agency_unknown"))
        if v.role == "enterprise":
            form.values["enterprise_uscc"] = str((v.user or {}).get("org_uscc") or "")
    policy: dict[str, Any] = {}
    with contextlib.suppress(ApiError):
        policy = await v.api.get("/api/v1/policy")
    engineers = [(e, e) for e in (agency or {}).get("registered_engineers") or []]
    return {
        "agency": agency,
        "agencies": agencies,
        "engineers": engineers,
        "policy": policy,
        "items": [(i.value, labels.name("item", i.value, v.lang)) for i in ServiceItem],
    }


def draft_initial(request: Request) -> dict[str, Any]:
    start = date.today()
    return {
        "agency_id": request.query_params.get("agency_id") or "",
        "enterprise_uscc": request.query_params.get("enterprise_uscc") or "",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=364)).isoformat(),
        "services": ["hazard_inspection"],
        "times.hazard_inspection": "12",
    }


async def _draft_page(v: View, form: Form, status: int = 200) -> Response:
    context = await _draft_context(v, form)
    return v.render("contract_new.html", status=status, form=form, idem=form.get("idem") or v.new_key(), **context)


@router.get("/portal/contracts/new")
async def draft_form(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    return await _draft_page(v, Form.of(initial=draft_initial(request)))


@router.post("/portal/contracts/new")
async def draft(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("agency", "enterprise")
    form = await v.form()
    if form.get("op") == "choose_agency":  # no script: the engineers' list needs the agency first
        return await _draft_page(v, form)
    services = []
    for item in form.many("services"):
        services.append({"item": item, "times_per_year": integer(form.get(f"times.{item}")) or 1})
    body: dict[str, Any] = {
        "enterprise_uscc": (
            user.get("org_uscc") if v.role == "enterprise" else form.get("enterprise_uscc").strip().upper()
        ),
        "agency_id": form.text("agency_id"),
        "engineer_name": form.get("engineer_name").strip(),
        "services": services,
        "start_date": form.text("start_date"),
        "end_date": form.text("end_date"),
        "fee_yuan": form.text("fee_yuan"),
    }
    if v.role == "agency":
        context = await _draft_context(v, form)
        body["agency_id"] = form.text("agency_id") or (context["agency"] or {}).get("id")
    try:
        reply = await v.api.post("/api/v1/contracts", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(
            exc,
            CONTRACT_FIELDS | {f"times.{i.value}" for i in ServiceItem},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        return await _draft_page(v, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/contracts/{reply.body['id']}", ok="drafted")


# --- amending the terms (draft, or rejected at filing; the signatures are voided) --------------------
AMENDABLE = ("draft", "rejected")


def terms_form(contract: dict[str, Any]) -> Form:
    initial: dict[str, Any] = {k: contract.get(k) for k in ("engineer_name", "start_date", "end_date", "fee_yuan")}
    initial.update(
        {
            "agency_id": str(contract["agency_id"]),
            "enterprise_uscc": contract["enterprise_uscc"],
            "version": contract["version"],
            "services": [line["item"] for line in contract.get("services") or []],
        }
    )
    for line in contract.get("services") or []:
        initial[f"times.{line['item']}"] = line["times_per_year"]
    return Form.of(initial=initial)


def terms_body(form: Form) -> dict[str, Any]:
    return {
        "engineer_name": form.get("engineer_name").strip(),
        "services": [
            {"item": item, "times_per_year": integer(form.get(f"times.{item}")) or 1} for item in form.many("services")
        ],
        "start_date": form.text("start_date"),
        "end_date": form.text("end_date"),
        "fee_yuan": form.text("fee_yuan"),
    }


async def _amend_page(v: View, contract: dict[str, Any], form: Form, status: int = 200) -> Response:
    form.values["agency_id"] = str(contract["agency_id"])
    context = await _draft_context(v, form)
    return v.render("contract_new.html", status=status, form=form, idem="", amend=contract, **context)


@router.get("/portal/contracts/{contract_id}/edit")
async def amend_form(contract_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    contract = await v.api.get(f"/api/v1/contracts/{contract_id}")
    if party_of(v, contract) is None or contract.get("status") not in AMENDABLE:
        raise Exit(v.error(409, v.t("not_amendable")))
    return await _amend_page(v, contract, terms_form(contract))


@router.post("/portal/contracts/{contract_id}/edit")
async def amend(contract_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    form = await v.form()
    contract = await v.api.get(f"/api/v1/contracts/{contract_id}")
    if form.get("op") == "choose_agency":
        return await _amend_page(v, contract, form)
    try:
        await v.api.patch(f"/api/v1/contracts/{contract_id}", terms_body(form), if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(
            exc,
            CONTRACT_FIELDS | {f"times.{i.value}" for i in ServiceItem},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _amend_page(v, contract, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/contracts/{contract_id}", ok="amended")


# --- one contract -----------------------------------------------------------------------------------
async def _contract_page(v: View, contract_id: str, form: Form | None = None, status: int = 200) -> Response:
    # one round: the compliance figures are asked for at once (a contract that never ran has none)
    results, errors = await v.api.gather(
        {
            "contract": v.api.get(f"/api/v1/contracts/{contract_id}"),
            "compliance": v.api.get(f"/api/v1/compliance/contracts/{contract_id}"),
        }
    )
    if "contract" in errors:
        raise errors["contract"]
    contract = results["contract"]
    compliance = (
        results.get("compliance")
        if contract.get("status") in ("active", "expired", "terminated", "suspended")
        else None
    )
    party = party_of(v, contract)
    signed = {s.get("party") for s in contract.get("signatures") or []}
    return v.render(
        "contract.html",
        status=status,
        c=contract,
        compliance=compliance,
        party=party,
        signed=signed,
        form=form or Form(),
        can_review=v.role in ("bureau", "admin"),
    )


@router.get("/portal/contracts/{contract_id}")
async def contract(contract_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    return await _contract_page(v, contract_id)


@router.post("/portal/contracts/{contract_id}/{action}")
async def contract_action(contract_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    if action not in ACTIONS:
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    if_match = f'"{form.get("version")}"' if form.get("version") else None
    path = f"/api/v1/contracts/{contract_id}/{'filing-review' if action == 'review' else action}"
    body: dict[str, Any] = {}
    if action == "sign":
        # What is signed (SPEC §9 v2): the hash of the terms shown to the person, and only that —
        # the other party signing meanwhile moves the version but not the terms (D34).
        body, if_match = {"content_sha256": form.get("content_sha256") or None}, None
    elif action == "terminate":
        body = {"reason": form.get("reason").strip()}
    elif action == "review":
        body = {"decision": form.get("decision"), "comments": form.get("comments").strip() or None}
    try:
        await v.api.post(path, body, if_match=if_match)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"decision", "comments", "reason"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_terms") if action == "sign" else v.t("stale_version"))
        form.values["failed_action"] = action
        return await _contract_page(v, contract_id, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/contracts/{contract_id}", ok=f"contract_{action}")
