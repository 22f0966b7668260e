"""Service visits and hazards (SPEC §10): the agency records a visit with the hazards it found (the
form works offline: ``static/sw.js`` queues it with its Idempotency-Key), the enterprise confirms
the visit and rectifies each hazard, the agency verifies the rectification."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.web import Exit, Form, View, view_of
from shared.reference import ServiceItem

MAX_EVIDENCE = 10 * 1024 * 1024

router = APIRouter(include_in_schema=False)
HAZARD_FIELDS = ("description", "level", "location", "deadline")
VISIT_FIELDS = {"contract_id", "visit_date", "engineer_name", "items", "summary", "attachments"}
UUIDISH = set("0123456789abcdef-")


def _id(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value and len(value) <= 40 and set(value) <= UUIDISH else None


@router.get("/portal/visits")
async def visits(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    contract_id = _id(request.query_params.get("contract_id"))
    params = {"contract_id": contract_id, "limit": 50, "cursor": request.query_params.get("cursor") or None}
    items, cursor = await v.api.page("/api/v1/service-logs", params)
    return v.render("visits.html", items=items, next_cursor=cursor, contract_id=contract_id or "")


async def _active_contracts(v: View) -> list[dict[str, Any]]:
    items, _ = await v.api.collect("/api/v1/contracts", {"status": "active"}, max_items=500)
    return items


def _hazard_rows(form: Form) -> int:
    count = 0
    for key in form.values:
        if key.startswith("hazards."):
            index = key.split(".")[1]
            if index.isdigit():
                count = max(count, int(index) + 1)
    return max(count, int(form.get("hazard_rows") or 0), 1)


async def _visit_page(v: View, form: Form, status: int = 200) -> Response:
    contracts = await _active_contracts(v)
    chosen = next((c for c in contracts if str(c["id"]) == form.get("contract_id")), None)
    if chosen and not form.get("engineer_name"):
        form.values["engineer_name"] = chosen.get("engineer_name") or ""
    policy: dict[str, Any] = {}
    with contextlib.suppress(ApiError):
        policy = await v.api.get("/api/v1/policy")
    return v.render(
        "visit_new.html",
        status=status,
        form=form,
        contracts=contracts,
        chosen=chosen,
        hazard_rows=_hazard_rows(form),
        policy=policy,
        items=[(i.value, labels.name("item", i.value, v.lang)) for i in ServiceItem],
        levels=labels.choices("hazard_level", v.lang),
        idem=form.get("idem") or v.new_key(),
    )


@router.get("/portal/visits/new")
async def visit_form(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    today = date.today()
    form = Form.of(
        initial={
            "contract_id": _id(request.query_params.get("contract_id")) or "",
            "visit_date": today.isoformat(),
            "items": ["hazard_inspection"],
            "hazard_rows": 1,
            "hazards.0.deadline": (today + timedelta(days=30)).isoformat(),
            "hazards.0.level": "general",
        }
    )
    return await _visit_page(v, form)


def visit_body(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    mapping: dict[str, str] = {}
    hazards: list[dict[str, Any]] = []
    for i in range(_hazard_rows(form)):
        values = {k: form.get(f"hazards.{i}.{k}").strip() for k in HAZARD_FIELDS}
        if not (values["description"] or values["location"]):
            continue
        mapping[f"hazards.{len(hazards)}"] = f"hazards.{i}"
        hazards.append(
            {
                "description": values["description"],
                "level": values["level"] or "general",
                "location": values["location"],
                "deadline": values["deadline"] or None,
            }
        )
    body = {
        "contract_id": form.text("contract_id"),
        "visit_date": form.text("visit_date"),
        "engineer_name": form.get("engineer_name").strip(),
        "items": form.many("items"),
        "summary": form.get("summary").strip(),
        "hazards": hazards,
    }
    return body, mapping


@router.post("/portal/visits/new")
async def visit_record(request: Request) -> Response:
    from portal.pages.agencies import remap

    v = await view_of(request)
    v.require("agency")
    form = await v.form()
    if form.get("op") == "add_hazard":
        rows = _hazard_rows(form)
        form.values["hazard_rows"] = str(rows + 1)
        form.values[f"hazards.{rows}.level"] = "general"
        return await _visit_page(v, form)
    body, mapping = visit_body(form)
    try:
        body["attachments"] = await upload_files(v, form, "attachments")  # the visit's photos (SPEC §16)
        for api_key, form_key in mapping.items():
            body["hazards"][int(api_key.split(".")[1])]["photos"] = await upload_files(v, form, f"{form_key}.photos")
        reply = await v.api.post("/api/v1/service-logs", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        exc = remap(exc, mapping)
        known = VISIT_FIELDS | {
            f"hazards.{i}.{k}" for i in range(_hazard_rows(form)) for k in (*HAZARD_FIELDS, "photos")
        }
        form.fail(exc, known, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.code in ("idempotency-key-reused", "idempotency_key_mismatch") or "Idempotency" in exc.detail:
            form.general.insert(0, v.t("form_already_sent"))
        return await _visit_page(v, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/visits/{reply.body['id']}", ok="visit_recorded")


@router.get("/portal/visits/{log_id}")
async def visit(log_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    entry = await v.api.get(f"/api/v1/service-logs/{log_id}")
    is_enterprise = v.role == "enterprise" and (v.user or {}).get("org_uscc") == entry.get("enterprise_uscc")
    return v.render("visit.html", log=entry, can_confirm=is_enterprise and not entry.get("confirmed"))


@router.post("/portal/visits/{log_id}/confirm")
async def visit_confirm(log_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("enterprise")
    form = await v.form()
    try:
        await v.api.post(f"/api/v1/service-logs/{log_id}/confirm", if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized or exc.status in (403, 404):
            raise
        return v.error(exc.status if 400 <= exc.status < 500 else 503, v.t("action_failed"), detail=exc.detail)
    return v.redirect(f"/portal/visits/{log_id}", ok="visit_confirmed")


# --- hazards ----------------------------------------------------------------------------------------
@router.get("/portal/hazards")
async def hazards(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    q = request.query_params
    status = q.get("status") if q.get("status") in labels.HAZARD_STATUS else ""
    level = q.get("level") if q.get("level") in labels.HAZARD_LEVEL else ""
    contract_id = _id(q.get("contract_id")) or ""
    items, cursor = await v.api.page(
        "/api/v1/hazards",
        {
            "status": status or None,
            "level": level or None,
            "contract_id": contract_id or None,
            "limit": 50,
            "cursor": q.get("cursor") or None,
        },
    )
    return v.render(
        "hazards.html",
        items=items,
        next_cursor=cursor,
        sel_status=status,
        level=level,
        contract_id=contract_id,
        statuses=labels.choices("hazard_status", v.lang),
        levels=labels.choices("hazard_level", v.lang),
        today=date.today().isoformat(),
    )


async def _hazard_page(v: View, hazard_id: str, form: Form | None = None, status: int = 200) -> Response:
    hazard = await v.api.get(f"/api/v1/hazards/{hazard_id}")
    org = (v.user or {}).get("org_uscc")
    is_enterprise = v.role == "enterprise" and org == hazard.get("enterprise_uscc")
    # an agency reads only its own contracts' hazards (the audit service's rule): it is the custodian
    is_agency = v.role == "agency"
    return v.render(
        "hazard.html",
        status=status,
        h=hazard,
        form=form or Form(),
        can_rectify=is_enterprise and hazard.get("status") in ("open", "overdue"),
        can_verify=is_agency and hazard.get("status") in ("rectified",),
    )


@router.get("/portal/hazards/{hazard_id}")
async def hazard(hazard_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    return await _hazard_page(v, hazard_id)


@router.post("/portal/hazards/{hazard_id}/{action}")
async def hazard_action(hazard_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    if action not in ("rectify", "verify"):
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    note = form.get("note").strip()
    body: dict[str, Any] = {"note": note} if (note or action == "rectify") else {}
    try:
        if action == "rectify" and (evidence := await _upload_evidence(v, form)) is not None:
            body["attachments"] = [evidence]  # a major hazard's rectification needs one (SPEC §16)
        await v.api.post(f"/api/v1/hazards/{hazard_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"note", "attachments"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _hazard_page(v, hazard_id, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/hazards/{hazard_id}", ok=f"hazard_{action}")


async def _upload_evidence(v: View, form: Form) -> str | None:
    """The rectification's photo or PDF, uploaded first: its id, None when no file was chosen."""
    upload = form.files.get("attachments")
    if upload is None or not upload.filename:
        return None
    return await upload_file(v, upload, "attachments")


async def upload_files(v: View, form: Form, name: str) -> list[str]:
    """Every file chosen in the input ``name`` (``multiple``), uploaded in turn: their ids."""
    return [await upload_file(v, u, name) for u in form.uploads.get(name, []) if u.filename]


async def upload_file(v: View, upload: UploadFile, name: str) -> str:
    """One photo or PDF uploaded to ``/api/v1/attachments`` with the person's token: its id; an
    upload the API refuses is the form's error on the input ``name``."""
    content = await upload.read(MAX_EVIDENCE + 1)
    if len(content) > MAX_EVIDENCE:
        raise ApiError(413, {"errors": [{"field": name, "message": v.t("file_too_large")}]})
    try:
        reply = await v.api.send(
            "POST",
            "/api/v1/attachments",
            files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
            timeout=60.0,
        )
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable:
            raise
        message = "; ".join([exc.detail, *exc.errors.values()])
        raise ApiError(exc.status, {"errors": [{"field": name, "message": message}]}, path=exc.path) from exc
    return str(reply.body["id"])
