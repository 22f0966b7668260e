"""Public pages (no login): the directory of filed agencies, the policy, sign-up, the complaint form
and complaint tracking, the API documentation and the event documentation."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from portal import labels
from portal.api import ApiError
from portal.web import Form, View, view_of
from shared.events.asyncapi import asyncapi_document
from shared.events.catalog import CATALOG, source_of
from shared.reference import Industry, load_jurisdiction

router = APIRouter(include_in_schema=False)
DIRECTORY_PAGE_SIZE = 25


def directory_filters(request: Request) -> tuple[dict[str, str], list[str]]:
    """The directory's filters from the query, each checked; invalid ones are dropped and named."""
    params = request.query_params
    clean: dict[str, str] = {}
    dropped: list[str] = []
    district = (params.get("district") or "").strip()
    if district:
        if load_jurisdiction().is_district(district):
            clean["district"] = district
        else:
            dropped.append("district")
    industry = (params.get("industry") or "").strip()
    if industry:
        if industry in Industry.__members__:
            clean["industry"] = industry
        else:
            dropped.append("industry")
    grade = (params.get("grade") or "").strip().upper()
    if grade:
        if grade in labels.GRADES:
            clean["grade"] = grade
        else:
            dropped.append("grade")
    q = (params.get("q") or "").strip()
    if q:
        if len(q) <= 100:
            clean["q"] = q
        else:
            dropped.append("q")
    return clean, dropped


@router.get("/")
async def directory(request: Request) -> Response:
    v = await view_of(request)
    filters, dropped = directory_filters(request)
    cursor = request.query_params.get("cursor") or None
    if cursor and (len(cursor) > 500 or not cursor.replace("-", "").replace("_", "").isalnum()):
        cursor, dropped = None, [*dropped, "cursor"]
    items: list[dict[str, Any]] = []
    next_cursor = None
    problem = None
    status = 200
    try:
        items, next_cursor = await v.api.page(
            "/api/v1/directory/agencies", {**filters, "cursor": cursor, "limit": DIRECTORY_PAGE_SIZE}
        )
    except ApiError as exc:
        if exc.unavailable:
            problem, status = v.t("unavailable"), 503
        else:
            problem = v.t("bad_request") + (f" {exc.detail}" if exc.detail else "")
    query = urlencode(filters)
    next_url = f"/?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return v.render(
        "directory.html",
        status=status,
        private=v.user is not None,
        items=items,
        filters=filters,
        dropped=dropped,
        problem=problem,
        next_url=next_url,
        first_url=("/?" + query) if cursor else None,
        export_query=query,
        districts=labels.districts(v.lang),
        industries=labels.choices("industry", v.lang),
        grades=labels.GRADES,
    )


POLICY_ROWS = [
    ("filing_validity_years", ("备案有效期（年）", "Filing validity (years)")),
    ("min_registered_safety_engineers", ("最少注册安全工程师人数", "Minimum registered safety engineers")),
    ("min_full_time_staff", ("最少专职人员数", "Minimum full-time staff")),
    ("max_enterprises_per_engineer", ("每名工程师最多托管企业数", "Maximum enterprises per engineer")),
    ("min_visits_per_year", ("每年最少隐患排查次数（按风险等级）", "Minimum inspections per year (by risk level)")),
    ("contract_term_months", ("托管期限（月）", "Contract term (months)")),
    ("expiring_notice_days", ("到期提醒（天）", "Expiry notice (days)")),
    ("hazard_deadline_days", ("隐患整改期限（天）", "Hazard rectification deadline (days)")),
    ("complaint_response_days", ("投诉答复期限（天）", "Complaint response (days)")),
    ("complaint_resolve_days", ("投诉办结期限（天）", "Complaint resolution (days)")),
    ("audit_sample_rate", ("质量抽查比例", "Quality-audit sample rate")),
    ("credit", ("诚信评分规则", "Credit rules")),
]


def _policy_value(key: str, value: Any, lang: str) -> str:
    if key == "min_visits_per_year" and isinstance(value, dict):
        return "；".join(f"{labels.name('risk', k, lang)} {v}" for k, v in value.items())
    if key == "hazard_deadline_days" and isinstance(value, dict):
        return "；".join(f"{labels.name('hazard_level', k, lang)} ≤ {v}" for k, v in value.items())
    if key == "contract_term_months" and isinstance(value, dict):
        return f"{value.get('min')} – {value.get('max')}"
    if key == "audit_sample_rate" and isinstance(value, (int, float)):
        return f"{value * 100:g}%"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@router.get("/policy")
async def policy(request: Request) -> Response:
    v = await view_of(request)
    try:
        body = await v.api.get("/api/v1/policy")
    except ApiError:
        return v.error(503, v.t("unavailable"))
    body = body if isinstance(body, dict) else {}
    rows = [
        (label[1] if v.en else label[0], _policy_value(key, body[key], v.lang))
        for key, label in POLICY_ROWS
        if key in body
    ]
    known = {key for key, _ in POLICY_ROWS} | {"title", "title_en", "policy_version", "published", "risk_rules"}
    known |= {"version", "effective_from"}  # the listing's (SPEC §22), not rules
    rows += [(key, _policy_value(key, value, v.lang)) for key, value in body.items() if key not in known]
    title = (body.get("title_en") if v.en else body.get("title")) or v.t("policy_title")
    return v.render(
        "policy.html",
        private=False,
        title=str(title),
        rows=rows,
        version=body.get("policy_version"),
        published=body.get("published"),
    )


# --- sign-up ----------------------------------------------------------------------------------------
SIGNUP_FIELDS = {"username", "password", "password2", "role", "org_uscc", "display_name", "invitation"}


@router.get("/portal/signup")
async def signup_form(request: Request) -> Response:
    v = await view_of(request)
    role = request.query_params.get("role")
    return v.render("signup.html", form=Form.of(initial={"role": role if role in ("agency", "enterprise") else ""}))


@router.post("/portal/signup")
async def signup(request: Request) -> Response:
    v = await view_of(request)
    form = await v.form()
    if form.get("password") != form.get("password2"):
        form.errors["password2"] = v.t("passwords_differ")
    if form.get("role") not in ("agency", "enterprise"):
        form.errors["role"] = v.t("choose_one")
    if form.failed:
        return v.render("signup.html", status=422, form=form)
    body = {
        "username": form.get("username").strip(),
        "password": form.get("password"),
        "role": form.get("role"),
        "org_uscc": form.get("org_uscc").strip().upper(),
        "display_name": form.get("display_name").strip(),
    }
    invitation = form.get("invitation").strip()
    if invitation:  # joins the organisation instead of opening it (SPEC §14)
        body["invitation"] = invitation
    try:
        reply = await v.api.post("/api/v1/accounts", body)
    except ApiError as exc:
        if exc.unavailable:
            form.general.append(v.t("unavailable"))
            return v.render("signup.html", status=503, form=form)
        form.fail(exc, SIGNUP_FIELDS)
        if exc.code == "organisation_exists":
            form.errors.setdefault("invitation", v.t("invitation_needed"))
        return v.render("signup.html", status=exc.status if 400 <= exc.status < 500 else 422, form=form)
    account = reply.body if isinstance(reply.body, dict) else {}
    return v.render(
        "signed_up.html", status=201, account=account, org_status=account.get("org_status"), joined=bool(invitation)
    )


# --- complaints from anyone -------------------------------------------------------------------------
COMPLAINT_FIELDS = {"agency_id", "contract_id", "category", "description", "contact_phone"}


async def _agency_choices(v: Any) -> list[tuple[str, str]]:
    """Agencies one may complain about: the directory's (and, for an enterprise, its contracts')."""
    choices: dict[str, str] = {}
    try:
        items, _ = await v.api.collect("/api/v1/directory/agencies", {}, max_items=1000)
        for a in items:
            choices[str(a["id"])] = f"{a.get('name')} ({a.get('filing_no') or '—'})"
    except ApiError:
        pass
    return sorted(choices.items(), key=lambda kv: kv[1])


async def _contract_choices(v: Any) -> list[dict[str, Any]]:
    if v.role != "enterprise":
        return []
    try:
        items, _ = await v.api.collect("/api/v1/contracts", {}, max_items=200)
    except ApiError:
        return []
    return list(items)


async def _complaint_page(v: View, form: Form, status: int = 200) -> Response:
    contracts = await _contract_choices(v)
    agencies = await _agency_choices(v)
    known = {a for a, _ in agencies}
    for c in contracts:
        if str(c["agency_id"]) not in known:
            agencies.append((str(c["agency_id"]), str(c.get("agency_name"))))
    return v.render(
        "complaint_new.html",
        status=status,
        form=form,
        agencies=agencies,
        contracts=contracts,
        categories=labels.choices("complaint_category", v.lang),
        idem=form.get("idem") or v.new_key(),
    )


@router.get("/portal/complaints/new")
async def complaint_form(request: Request) -> Response:
    v = await view_of(request)
    initial = {k: request.query_params.get(k) for k in ("agency_id", "contract_id") if request.query_params.get(k)}
    return await _complaint_page(v, Form.of(initial=initial))


@router.post("/portal/complaints/new")
async def complaint_submit(request: Request) -> Response:
    v = await view_of(request)
    form = await v.form()
    body: dict[str, Any] = {
        "agency_id": form.text("agency_id"),
        "category": form.text("category"),
        "description": form.get("description").strip(),
    }
    if form.text("contract_id"):
        body["contract_id"] = form.text("contract_id")
    if v.user is None or form.text("contact_phone"):
        body["contact_phone"] = form.text("contact_phone")
    try:
        reply = await v.api.post("/api/v1/complaints", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, COMPLAINT_FIELDS, fallback=v.t("unavailable") if exc.unavailable else "")
        return await _complaint_page(v, form, status=exc.status if 400 <= exc.status < 500 else 503)
    complaint = reply.body
    if v.user is not None:
        return v.redirect(f"/portal/complaints/{complaint['id']}", ok="complaint_sent")
    return v.render("complaint_sent.html", status=201, complaint=complaint)


@router.get("/portal/complaints/track")
async def track_form(request: Request) -> Response:
    v = await view_of(request)
    initial = {k: request.query_params.get(k) for k in ("id",) if request.query_params.get(k)}
    return v.render("complaint_track.html", form=Form.of(initial=initial), tracked=None)


@router.post("/portal/complaints/track")
async def track(request: Request) -> Response:
    v = await view_of(request)
    form = await v.form()
    try:
        tracked = (
            await v.api.post(
                "/api/v1/complaints/track",
                {"id": form.get("id").strip(), "tracking_code": form.get("tracking_code").strip()},
            )
        ).body
    except ApiError as exc:
        if exc.status == 404:
            form.general.append(v.t("track_not_found"))
        else:
            form.fail(exc, {"id", "tracking_code"}, fallback=v.t("unavailable") if exc.unavailable else "")
        return v.render(
            "complaint_track.html", status=exc.status if 400 <= exc.status < 500 else 503, form=form, tracked=None
        )
    return v.render("complaint_track.html", form=form, tracked=tracked)


# --- documentation ----------------------------------------------------------------------------------
@router.get("/docs")
async def api_docs(request: Request) -> Response:
    """Swagger UI from the vendored ``swagger-ui-dist`` (no CDN), started by a script file."""
    v = await view_of(request)
    return v.render("docs.html", private=False)


@router.get("/asyncapi.json")
async def asyncapi_json(request: Request) -> Response:
    settings = request.app.state.portal.settings
    document = asyncapi_document(subject_prefix=settings.subject_prefix)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


def _fields(schema: dict[str, Any]) -> list[tuple[str, str, bool]]:
    required = set(schema.get("required") or [])
    out = []
    for key, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type") or prop.get("format") or ""
        if not kind and "anyOf" in prop:
            kind = " | ".join(
                str(p.get("type") or p.get("format") or p.get("$ref", "").rsplit("/", 1)[-1]) for p in prop["anyOf"]
            )
        if prop.get("format"):
            kind = f"{kind} ({prop['format']})" if prop.get("type") else kind
        if prop.get("enum"):
            kind = f"{kind} ∈ {', '.join(map(str, prop['enum']))}"
        elif prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            kind = f"array of {prop['items'].get('type', 'object')}"
        out.append((key, kind, key in required))
    return out


@router.get("/asyncapi")
async def asyncapi_page(request: Request) -> Response:
    v = await view_of(request)
    settings = v.state.settings
    events = []
    for event_type, model in sorted(CATALOG.items()):
        doc = (model.__doc__ or "").strip()
        events.append(
            {
                "type": event_type,
                "subject": f"{settings.subject_prefix}.{event_type}",
                "source": source_of(event_type),
                "summary": doc.splitlines()[0] if doc else "",
                "fields": _fields(model.model_json_schema()),
            }
        )
    return v.render("asyncapi.html", private=False, events=events, stream=settings.stream_name)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/portal/sw.js")
async def service_worker(request: Request) -> Response:
    """The offline visit queue's service worker, served from ``/portal/`` so that its scope is the
    portal's pages (a worker's scope is at most its own directory)."""
    from portal.web import HERE

    return Response(
        (HERE / "static" / "sw.js").read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/portal/",
            "X-Content-Type-Options": "nosniff",
        },
    )
