"""Complaints (SPEC §10) once received: the list, one complaint with its timeline, the bureau's
forwarding and resolution, the agency's response. (The form and tracking are public: pages/public.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)
ACTIONS = {"forward": ("bureau", "admin"), "respond": ("agency",), "resolve": ("bureau", "admin")}


@router.get("/portal/complaints")
async def complaints(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    q = request.query_params
    status = q.get("status") if q.get("status") in labels.COMPLAINT_STATUS else ""
    overdue = "true" if q.get("overdue") == "true" else ""
    items, cursor = await v.api.page(
        "/api/v1/complaints",
        {"status": status or None, "overdue": overdue or None, "limit": 50, "cursor": q.get("cursor") or None},
    )
    return v.render(
        "complaints.html",
        items=items,
        next_cursor=cursor,
        sel_status=status,
        overdue=overdue,
        statuses=labels.choices("complaint_status", v.lang),
    )


async def _complaint_page(v: View, complaint_id: str, form: Form | None = None, status: int = 200) -> Response:
    complaint = await v.api.get(f"/api/v1/complaints/{complaint_id}")
    agency_name = None
    try:
        agency_name = (await v.api.get(f"/api/v1/agencies/{complaint['agency_id']}")).get("name")
    except ApiError as exc:
        if exc.unauthorized:
            raise
    bureau = v.role in ("bureau", "admin")
    return v.render(
        "complaint.html",
        status=status,
        c=complaint,
        agency_name=agency_name,
        form=form or Form(),
        can_forward=bureau and complaint.get("status") == "received",
        can_resolve=bureau and complaint.get("status") in ("received", "forwarded", "responded"),
        can_respond=v.role == "agency" and complaint.get("status") == "forwarded",
        outcomes=labels.choices("outcome", v.lang),
    )


@router.get("/portal/complaints/{complaint_id}")
async def complaint(complaint_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    return await _complaint_page(v, complaint_id)


@router.post("/portal/complaints/{complaint_id}/{action}")
async def complaint_action(complaint_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    if action not in ACTIONS:
        v.require()
        raise Exit(v.error(404, v.t("not_found")))
    v.require(*ACTIONS[action])
    form = await v.form()
    body: dict[str, Any]
    if action == "forward":
        body = {"note": form.get("note").strip() or None}
    elif action == "respond":
        body = {"response": form.get("response").strip()}
    else:
        body = {"outcome": form.get("outcome"), "notes": form.get("notes").strip()}
    try:
        await v.api.post(f"/api/v1/complaints/{complaint_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"note", "response", "outcome", "notes"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        form.values["failed_action"] = action
        return await _complaint_page(v, complaint_id, form, status=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect(f"/portal/complaints/{complaint_id}", ok=f"complaint_{action}")
