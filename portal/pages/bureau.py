"""The bureau's pages: the dashboard (every queue row a link to the page that acts on it), the
enterprise ledger (list, one enterprise with its risk factors, CSV import), quality audits (draw a
sample, record a result). Filings, contracts, hazards and complaints have their own modules."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import dashboard as dash
from portal import dashboard_areas as areas
from portal import labels
from portal.api import ApiError
from portal.web import Form, View, view_of

router = APIRouter(include_in_schema=False)
BUREAU = ("bureau", "admin")
MAX_IMPORT = 10 * 1024 * 1024


@router.get("/portal/dashboard")
async def dashboard(request: Request) -> Response:
    v = await view_of(request)
    user = v.require(*BUREAU)
    q = request.query_params
    role, claim = str(user.get("role")), user.get("district")
    try:  # the drill-down: an area inside the account's own (portal.dashboard_areas)
        scope = areas.scope_of(role, claim, district=q.get("district") or None, town=q.get("town") or None)
    except areas.UnknownArea:
        return v.error(404, v.t("not_found"))
    except areas.OutsideScope:
        return v.error(403, v.t("dash_outside_scope"))
    data = await dash.build(v.api, role=role, district=claim, lang=v.lang, scope=scope)
    if data.unauthorized:
        v.clear_session()
        return v.login_redirect(scope.query)
    return v.render(
        "dashboard.html",
        d=data,
        export_sets=("directory", "enterprises", "contracts", "hazards", "complaints"),
        districts=labels.districts(v.lang),
        contract_statuses=labels.choices("contract_status", v.lang),
        hazard_statuses=labels.choices("hazard_status", v.lang),
        complaint_statuses=labels.choices("complaint_status", v.lang),
        risk_levels=labels.choices("risk", v.lang),
    )


# --- enterprises ------------------------------------------------------------------------------------
@router.get("/portal/enterprises")
async def enterprises(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    q = request.query_params
    filters = {
        "district": q.get("district") or None,
        "risk_level": q.get("risk_level") if q.get("risk_level") in labels.RISK else None,
        "has_custodian": q.get("has_custodian") if q.get("has_custodian") in ("true", "false") else None,
        "q": (q.get("q") or "").strip()[:100] or None,
    }
    items, cursor = await v.api.page("/api/v1/enterprises", {**filters, "limit": 50, "cursor": q.get("cursor") or None})
    clean = {k: val for k, val in filters.items() if val}
    return v.render(
        "enterprises.html",
        items=items,
        next_cursor=cursor,
        filters=clean,
        districts=labels.districts(v.lang),
        risk_levels=labels.choices("risk", v.lang),
    )


@router.get("/portal/enterprises/import")
async def import_form(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return v.render("enterprise_import.html", form=Form(), report=None)


@router.post("/portal/enterprises/import")
async def import_file(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    upload = form.files.get("file")
    if upload is None or not upload.filename:
        form.errors["file"] = v.t("file_required")
        return v.render("enterprise_import.html", status=422, form=form, report=None)
    content = await upload.read(MAX_IMPORT + 1)
    if len(content) > MAX_IMPORT:
        form.errors["file"] = v.t("import_too_large")
        return v.render("enterprise_import.html", status=413, form=form, report=None)
    try:
        reply = await v.api.send(
            "POST", "/api/v1/enterprises/import", content=content, headers={"Content-Type": "text/csv"}, timeout=300.0
        )
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"file"}, fallback=v.t("unavailable") if exc.unavailable else "")
        return v.render(
            "enterprise_import.html", status=exc.status if 400 <= exc.status < 500 else 503, form=form, report=None
        )
    return v.render("enterprise_import.html", form=Form(), report=reply.body)


@router.get("/portal/enterprises/new")
async def new_enterprise_form(request: Request) -> Response:
    from portal.pages.homes import _record_page

    v = await view_of(request)
    v.require(*BUREAU)
    return await _record_page(
        v, None, Form.of(initial={"district_code": (v.user or {}).get("district") or ""}), bureau_new=True
    )


@router.post("/portal/enterprises/new")
async def new_enterprise(request: Request) -> Response:
    from portal.pages.homes import ENTERPRISE_FIELDS, _record_page, record_body

    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body = {**record_body(form), "uscc": form.get("uscc").strip().upper()}
    try:
        reply = await v.api.post("/api/v1/enterprises", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(
            exc,
            {*ENTERPRISE_FIELDS, "uscc", "major_hazard_source", "hazard_flags"},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        return await _record_page(v, None, form, status=exc.status if 400 <= exc.status < 500 else 503, bureau_new=True)
    return v.redirect(f"/portal/enterprises/{reply.body['id']}", ok="saved")


@router.get("/portal/enterprises/{enterprise_id}")
async def enterprise(enterprise_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    results, errors = await v.api.gather(
        {
            "enterprise": v.api.get(f"/api/v1/enterprises/{enterprise_id}"),
            "risk": v.api.get(f"/api/v1/enterprises/{enterprise_id}/risk"),
        }
    )
    if "enterprise" in errors:
        raise errors["enterprise"]
    record = results["enterprise"]
    contracts: list[dict[str, Any]] = []
    try:
        contracts, _ = await v.api.collect("/api/v1/contracts", {"enterprise_uscc": record["uscc"]}, max_items=50)
    except ApiError as exc:
        if exc.unauthorized:
            raise
    return v.render("enterprise.html", e=record, risk=results.get("risk"), contracts=contracts)


# --- quality audits ---------------------------------------------------------------------------------
def _period_now() -> str:
    today = date.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


async def _audits_page(v: View, form: Form, status: int = 200, sample: dict[str, Any] | None = None) -> Response:
    q = v.request.query_params
    astatus = q.get("status") if q.get("status") in ("pending", "completed") else ""
    items, cursor = await v.api.page(
        "/api/v1/audits", {"status": astatus or None, "limit": 50, "cursor": q.get("cursor") or None}
    )
    return v.render(
        "audits.html",
        status=status,
        items=items,
        next_cursor=cursor,
        astatus=astatus,
        form=form,
        sample=sample,
        districts=labels.districts(v.lang),
    )


@router.get("/portal/audits")
async def audits(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _audits_page(v, Form.of(initial={"period": _period_now(), "seed": secrets.token_hex(4)}))


@router.post("/portal/audits/sample")
async def sample(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body: dict[str, Any] = {"period": form.get("period").strip(), "seed": form.get("seed").strip()}
    if form.text("rate"):
        try:
            body["rate"] = float(form.get("rate")) / 100
        except ValueError:
            body["rate"] = form.get("rate")
    if form.text("district"):
        body["district"] = form.text("district")
    try:
        reply = await v.api.post("/api/v1/audits/sample", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"period", "seed", "rate", "district"}, fallback=v.t("unavailable") if exc.unavailable else "")
        return await _audits_page(v, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return await _audits_page(
        v, Form.of(initial={"period": _period_now(), "seed": secrets.token_hex(4)}), status=201, sample=reply.body
    )


async def _audit_page(v: View, task_id: str, form: Form | None = None, status: int = 200) -> Response:
    task = await v.api.get(f"/api/v1/audits/{task_id}")
    return v.render(
        "audit.html",
        status=status,
        a=task,
        form=form or Form.of(initial={"score_rows": 4}),
        criteria=[labels.message(f"criterion_{i}", v.lang) for i in range(4)],
    )


@router.get("/portal/audits/{task_id}")
async def audit(task_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _audit_page(v, task_id)


@router.post("/portal/audits/{task_id}/result")
async def audit_result(task_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    scores = []
    for i in range(int(form.get("score_rows") or 4)):
        criterion = form.get(f"scores.{i}.criterion").strip()
        score = form.get(f"scores.{i}.score").strip()
        if criterion or score:
            try:
                value: Any = float(score)
            except ValueError:
                value = score
            scores.append({"criterion": criterion, "score": value})
    body = {"scores": scores, "findings": form.get("findings").strip(), "fraud": form.get("fraud") == "true"}
    try:
        await v.api.post(f"/api/v1/audits/{task_id}/result", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(
            exc,
            {"findings", "fraud", "scores"} | {f"scores.{i}.{k}" for i in range(8) for k in ("criterion", "score")},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        return await _audit_page(v, task_id, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/audits/{task_id}", ok="audit_recorded")
