"""Change filing (变更备案, SPEC §18): an approved agency files a change — the same form as its
filing, sent as only what differs, with a reason — and sees its change requests with their checks;
the bureau reviews them (approve or reject with comments). And the enterprise risk-input review
queue (SPEC §8): an enterprise's own district move or lowering of its risk inputs waits for its
district bureau, which accepts or rejects it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.pages.agencies import filing_body, filing_form_from, my_agency, remap
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)
BUREAU = ("bureau", "admin")
CHANGEABLE = ("staff", "qualifications", "service_districts", "service_industries", "contact_phone", "address")
CHANGE_DECISIONS = ("approve", "reject")
RISK_DECISIONS = ("accept", "reject")


def change_body(agency: dict[str, Any], form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """What the form changes, compared with the filing as the same form would send it, and the reason."""
    current, _ = filing_body(filing_form_from(agency, agency.get("uscc")))
    wanted, mapping = filing_body(form)
    body: dict[str, Any] = {k: wanted[k] for k in CHANGEABLE if wanted.get(k) != current.get(k)}
    body["reason"] = form.get("reason").strip()
    return body, mapping


def _known(form: Form) -> set[str]:
    names = {"reason", "contact_phone", "address", "service_districts", "service_industries", "staff", "body"}
    for i in range(int(form.get("staff_rows") or 0) + 1):
        names |= {f"staff.{i}", *(f"staff.{i}.{k}" for k in ("name", "role", "certificate_no"))}
        names |= {f"staff.{i}.certificate_valid_until", f"staff.{i}.full_time"}
    for i in range(int(form.get("qual_rows") or 0) + 1):
        names |= {f"qualifications.{i}", *(f"qualifications.{i}.{k}" for k in ("type", "number", "valid_until"))}
    return names


async def _agency_changes_page(v: View, agency: dict[str, Any] | None, form: Form, status: int = 200) -> Response:
    changes: list[dict[str, Any]] = []
    missing = False
    if agency is not None:
        try:
            changes = await v.api.get(f"/api/v1/agencies/{agency['id']}/changes")
        except ApiError as exc:
            if exc.unauthorized or status == 200:
                raise
            missing = True  # a failed form is shown again with its input whatever the list does
    return v.render(
        "agency_changes.html",
        status=status,
        agency=agency,
        changes=changes,
        changes_missing=missing,
        form=form,
        can_file=agency is not None and agency.get("status") == "approved",
        districts=labels.districts(v.lang),
        industries=labels.choices("industry", v.lang),
        staff_roles=labels.choices("staff_role", v.lang),
        staff_rows=max(int(form.get("staff_rows") or 0), 1),
        qual_rows=max(int(form.get("qual_rows") or 0), 1),
    )


@router.get("/portal/agency/changes")
async def agency_changes(request: Request) -> Response:
    v = await view_of(request)
    user = v.require("agency")
    agency = await my_agency(v)
    return await _agency_changes_page(v, agency, filing_form_from(agency, user.get("org_uscc")))


@router.post("/portal/agency/changes")
async def file_change(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    form = await v.form()
    agency = await my_agency(v)
    if agency is None:
        raise Exit(v.redirect("/portal/agency/filing"))
    if form.get("op") in ("add_staff", "add_qual"):
        key = "staff_rows" if form.get("op") == "add_staff" else "qual_rows"
        form.values[key] = str(int(form.get(key) or 0) + 1)
        return await _agency_changes_page(v, agency, form)
    body, mapping = change_body(agency, form)
    try:
        await v.api.post(f"/api/v1/agencies/{agency['id']}/changes", body)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(remap(exc, mapping), _known(form), fallback=v.t("unavailable") if exc.unavailable else "")
        return await _agency_changes_page(v, agency, form, status=exc.page_status)
    return v.redirect("/portal/agency/changes", ok="change_filed")


# --- the bureau's review ----------------------------------------------------------------------------
async def _review_page(v: View, agency_id: str, form: Form | None = None, status: int = 200) -> Response:
    results, errors = await v.api.gather(
        {
            "agency": v.api.get(f"/api/v1/agencies/{agency_id}"),
            "changes": v.api.get(f"/api/v1/agencies/{agency_id}/changes"),
        }
    )
    if "changes" in errors:
        raise errors["changes"]
    return v.render(
        "agency_changes_review.html",
        status=status,
        agency=results.get("agency") or {"id": agency_id},
        changes=results["changes"],
        form=form or Form(),
        can_review=v.role in BUREAU,
        decisions=[(d, v.t(f"ch_{d}")) for d in CHANGE_DECISIONS],
    )


@router.get("/portal/agencies/{agency_id}/changes")
async def agency_changes_review(agency_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _review_page(v, agency_id)


@router.post("/portal/agencies/{agency_id}/changes/{change_id}/review")
async def review_change(agency_id: str, change_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body = {"decision": form.get("decision"), "comments": form.get("comments").strip()}
    try:
        await v.api.post(f"/api/v1/agencies/{agency_id}/changes/{change_id}/review", body)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"decision", "comments"}, fallback=v.t("unavailable") if exc.unavailable else "")
        form.values["failed_change"] = change_id
        return await _review_page(v, agency_id, form, status=exc.page_status)
    return v.redirect(f"/portal/agencies/{agency_id}/changes", ok="change_reviewed")


# --- the enterprise risk-input review queue ---------------------------------------------------------
async def _risk_queue(v: View, request: Request, form: Form | None = None, status: int = 200) -> Response:
    cursor = request.query_params.get("cursor") or None
    items, next_cursor = await v.api.page(
        "/api/v1/enterprises", {"risk_inputs_pending": "true", "limit": 50, "cursor": cursor}
    )
    return v.render(
        "risk_inputs.html",
        status=status,
        items=items,
        next_cursor=next_cursor,
        form=form or Form(),
        decisions=[(d, v.t(f"ri_{d}")) for d in RISK_DECISIONS],
    )


@router.get("/portal/risk-inputs")
async def risk_inputs(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _risk_queue(v, request)


@router.post("/portal/risk-inputs/{enterprise_id}/review")
async def risk_inputs_review(enterprise_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body = {"decision": form.get("decision"), "comments": form.text("comments")}
    try:
        await v.api.post(f"/api/v1/enterprises/{enterprise_id}/risk-inputs/review", body)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"decision", "comments"}, fallback=v.t("unavailable") if exc.unavailable else "")
        form.values["failed_enterprise"] = enterprise_id
        return await _risk_queue(v, request, form, status=exc.page_status)
    return v.redirect("/portal/risk-inputs", ok="risk_inputs_reviewed")
