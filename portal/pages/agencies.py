"""Agency filing (SPEC §7) from the agency's side — create and edit the filing with its staff roster
and qualifications, upload documents, submit (the automatic checks), renew — and an agency's page
for everyone signed in, with the bureau's review, suspension, reinstatement and revocation."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from portal import labels
from portal.api import ApiError
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)

AGENCY_FIELDS = ("name", "legal_representative", "contact_phone", "address", "district_code")
STAFF_FIELDS = ("name", "role", "certificate_no", "certificate_valid_until", "full_time")
QUAL_FIELDS = ("type", "number", "issuer", "valid_from", "valid_until")
EDITABLE = ("draft", "needs_more_info")
RENEWABLE = ("approved", "expired")
DOCUMENT_KINDS = (
    "business_license",
    "qualification_certificate",
    "engineer_certificate",
    "staff_contract",
    "office_lease",
    "other",
)
MAX_UPLOAD = 10 * 1024 * 1024


async def my_agency(v: View) -> dict[str, Any] | None:
    """The signed-in agency's filing (one per USCC), or None before it has one."""
    items, _ = await v.api.page("/api/v1/agencies", {"limit": 50})  # the owner's list: full records
    mine = [a for a in items if a.get("uscc") == (v.user or {}).get("org_uscc")]
    return mine[0] if mine else None


def _rows(form: Form, prefix: str, fields: tuple[str, ...]) -> int:
    count = 0
    for key in form.values:
        if key.startswith(prefix + "."):
            index = key.split(".")[1]
            if index.isdigit():
                count = max(count, int(index) + 1)
    return count


def filing_form_from(agency: dict[str, Any] | None, org_uscc: str | None) -> Form:
    if agency is None:
        return Form.of(initial={"uscc": org_uscc or "", "staff_rows": 5, "qual_rows": 1})
    initial: dict[str, Any] = {
        "uscc": agency["uscc"],
        "version": agency.get("version"),
        **{k: agency.get(k) for k in AGENCY_FIELDS},
        "service_districts": agency.get("service_districts") or [],
        "service_industries": agency.get("service_industries") or [],
    }
    for i, member in enumerate(agency.get("staff") or []):
        for key in STAFF_FIELDS:
            initial[f"staff.{i}.{key}"] = member.get(key)
    for i, q in enumerate(agency.get("qualifications") or []):
        for key in QUAL_FIELDS:
            initial[f"qualifications.{i}.{key}"] = q.get(key)
    initial["staff_rows"] = len(agency.get("staff") or []) + 1
    initial["qual_rows"] = len(agency.get("qualifications") or []) + 1
    return Form.of(initial=initial)


def filing_body(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """The API body from the form, and how the API's row numbers map back to the form's rows
    (blank rows are left out)."""
    body: dict[str, Any] = {k: form.get(k).strip() for k in AGENCY_FIELDS}
    body["service_districts"] = form.many("service_districts")
    body["service_industries"] = form.many("service_industries")
    mapping: dict[str, str] = {}
    staff: list[dict[str, Any]] = []
    for i in range(max(_rows(form, "staff", STAFF_FIELDS), int(form.get("staff_rows") or 0))):
        values = {k: form.get(f"staff.{i}.{k}").strip() for k in STAFF_FIELDS if k != "full_time"}
        if not any(values.get(k) for k in ("name", "certificate_no", "certificate_valid_until")):
            continue
        mapping[f"staff.{len(staff)}"] = f"staff.{i}"
        member: dict[str, Any] = {
            "name": values["name"],
            "role": values["role"] or "other",
            "full_time": form.get(f"staff.{i}.full_time") == "true",
        }
        if values.get("certificate_no"):
            member["certificate_no"] = values["certificate_no"]
        if values.get("certificate_valid_until"):
            member["certificate_valid_until"] = values["certificate_valid_until"]
        staff.append(member)
    quals: list[dict[str, Any]] = []
    for i in range(max(_rows(form, "qualifications", QUAL_FIELDS), int(form.get("qual_rows") or 0))):
        values = {k: form.get(f"qualifications.{i}.{k}").strip() for k in QUAL_FIELDS}
        if not any(values.values()):
            continue
        mapping[f"qualifications.{len(quals)}"] = f"qualifications.{i}"
        quals.append({k: (values[k] or None) for k in QUAL_FIELDS})
    body["staff"] = staff
    body["qualifications"] = quals
    return body, mapping


def remap(exc: ApiError, mapping: dict[str, str]) -> ApiError:
    """The API's ``errors`` with row numbers of the body turned into the form's."""
    errors = []
    for item in exc.problem.get("errors") or []:
        field = str(item.get("field") or "")
        parts = field.split(".")
        if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in mapping:
            field = ".".join([mapping[f"{parts[0]}.{parts[1]}"], *parts[2:]])
        errors.append({**item, "field": field})
    return ApiError(exc.status, {**exc.problem, "errors": errors}, path=exc.path)


def _known(form: Form) -> set[str]:
    names = {*AGENCY_FIELDS, "uscc", "service_districts", "service_industries"}
    for i in range(int(form.get("staff_rows") or 0) + 1):
        names |= {f"staff.{i}.{k}" for k in STAFF_FIELDS} | {f"staff.{i}"}
    for i in range(int(form.get("qual_rows") or 0) + 1):
        names |= {f"qualifications.{i}.{k}" for k in QUAL_FIELDS} | {f"qualifications.{i}"}
    return names


async def _filing_page(v: View, agency: dict[str, Any] | None, form: Form, status: int = 200) -> Response:
    policy: dict[str, Any] = {}
    with contextlib.suppress(ApiError):
        policy = await v.api.get("/api/v1/policy")
    editable = agency is None or agency.get("status") in EDITABLE
    return v.render(
        "agency_filing.html",
        status=status,
        agency=agency,
        form=form,
        editable=editable,
        renewable=agency is not None and agency.get("status") in RENEWABLE,
        districts=labels.districts(v.lang),
        industries=labels.choices("industry", v.lang),
        staff_roles=labels.choices("staff_role", v.lang),
        policy=policy,
        document_kinds=[(k, labels.name("document_kind", k, v.lang)) for k in DOCUMENT_KINDS],
        staff_rows=max(int(form.get("staff_rows") or 0), 1),
        qual_rows=max(int(form.get("qual_rows") or 0), 1),
    )


@router.get("/portal/agency/filing")
async def filing(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("agency")
    agency = await my_agency(v)
    return await _filing_page(v, agency, filing_form_from(agency, user.get("org_uscc")))


@router.post("/portal/agency/filing")
async def filing_save(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("agency")
    form = await v.form()
    agency = await my_agency(v)
    op = form.get("op")
    if op in ("add_staff", "add_qual"):
        key = "staff_rows" if op == "add_staff" else "qual_rows"
        form.values[key] = str(int(form.get(key) or 0) + 1)
        return await _filing_page(v, agency, form)
    body, mapping = filing_body(form)
    try:
        if agency is None:
            body["uscc"] = user.get("org_uscc") or form.get("uscc").strip()
            await v.api.post("/api/v1/agencies", body, idempotency_key=form.text("idem"))
        else:
            await v.api.patch(f"/api/v1/agencies/{agency['id']}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        exc = remap(exc, mapping)
        form.fail(exc, _known(form), fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _filing_page(v, agency, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect("/portal/agency/filing", ok="saved")


@router.post("/portal/agency/filing/documents")
async def upload_document(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    form = await v.form()
    agency = await my_agency(v)
    if agency is None:
        return v.redirect("/portal/agency/filing")
    upload = form.files.get("file")
    problem: str | None = None
    if upload is None or not upload.filename:
        problem = v.t("file_required")
    else:
        content = await upload.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            problem = v.t("file_too_large")
        else:
            try:
                await v.api.send(
                    "POST",
                    f"/api/v1/agencies/{agency['id']}/documents",
                    data={"kind": form.get("kind") or "other"},
                    files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
                    timeout=60.0,
                )
            except ApiError as exc:
                if exc.unauthorized:
                    raise
                problem = "; ".join([exc.detail, *exc.errors.values()]) or v.t("unavailable")
    if problem:
        page_form = filing_form_from(agency, agency.get("uscc"))
        page_form.errors["file"] = problem
        return await _filing_page(v, agency, page_form, status=422)
    return v.redirect("/portal/agency/filing", ok="uploaded")


@router.post("/portal/agency/filing/submit")
async def submit(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    form = await v.form()
    agency = await my_agency(v)
    if agency is None:
        return v.redirect("/portal/agency/filing")
    try:
        await v.api.post(f"/api/v1/agencies/{agency['id']}/submit", if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        page_form = filing_form_from(agency, agency.get("uscc"))
        page_form.fail(exc, _known(page_form), fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            page_form.general.insert(0, v.t("stale_version"))
        return await _filing_page(v, agency, page_form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect("/portal/agency/filing", ok="submitted")


@router.get("/portal/agencies/{agency_id}/documents/{document_id}")
async def download_document(agency_id: str, document_id: str, request: Request) -> Response:
    """A filing document, streamed from the registry with the reader's own token."""
    v = await view_of(request)
    v.require("agency", "bureau", "admin")
    api = v.api
    reply = await api.send("GET", f"/api/v1/agencies/{agency_id}/documents/{document_id}", timeout=60.0)
    body = reply.body if isinstance(reply.body, bytes) else b""
    headers = {k: reply.headers[k] for k in ("content-type", "content-disposition", "etag") if k in reply.headers}

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    return v.finish(StreamingResponse(chunks(), headers=headers))


# --- an agency's page (bureau review) ----------------------------------------------------------------
REVIEW_ACTIONS = ("review", "suspend", "reinstate", "revoke")


@router.get("/portal/agencies")
async def agencies(request: Request) -> Response:
    v = await view_of(request)
    v.require("bureau", "admin")
    status = request.query_params.get("status") or ""
    status = status if status in labels.AGENCY_STATUS else ""
    district = request.query_params.get("district") or ""
    params = {
        "status": status or None,
        "district": district or None,
        "limit": 50,
        "cursor": request.query_params.get("cursor") or None,
    }
    items, cursor = await v.api.page("/api/v1/agencies", params)
    return v.render(
        "agencies.html",
        items=items,
        next_cursor=cursor,
        sel_status=status,
        district=district,
        statuses=labels.choices("agency_status", v.lang),
        districts=labels.districts(v.lang),
    )


async def _agency_page(v: View, agency_id: str, form: Form | None = None, status: int = 200) -> Response:
    results, errors = await v.api.gather(
        {
            "agency": v.api.get(f"/api/v1/agencies/{agency_id}"),
            "credit": v.api.get(f"/api/v1/credit/agencies/{agency_id}"),
            "engagements": v.api.get(f"/api/v1/agencies/{agency_id}/engagements"),
        }
    )
    if "agency" in errors:
        raise errors["agency"]
    agency = results["agency"]
    from portal.pages.engagements import engagements_of  # that module imports this one

    return v.render(
        "agency.html",
        status=status,
        agency=agency,
        credit=results.get("credit"),
        # the declared engagements (SPEC §20): shown to whoever the registry lets read them
        engagements=None if "engagements" in errors else engagements_of(results.get("engagements")),
        full="staff" in agency,
        form=form or Form.of(initial={"decision": ""}),
        can_review=v.role in ("bureau", "admin") and "staff" in agency,
    )


@router.get("/portal/agencies/{agency_id}")
async def agency_page(agency_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require()
    return await _agency_page(v, agency_id)


@router.post("/portal/agencies/{agency_id}/{action}")
async def agency_action(agency_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("bureau", "admin")
    if action not in REVIEW_ACTIONS:
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    if action == "review":
        body: dict[str, Any] = {"decision": form.get("decision"), "comments": form.get("comments").strip()}
    else:
        body = {"reason": form.get("reason").strip()}
    try:
        await v.api.post(f"/api/v1/agencies/{agency_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"decision", "comments", "reason"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        form.values["failed_action"] = action
        return await _agency_page(v, agency_id, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/agencies/{agency_id}", ok=f"agency_{action}")
