"""Evidence, disputes, the hazard loop and major-hazard supervision (SPEC §16, §17): a record's
attachments served through the portal with the person's token (never a public address); the
enterprise disputes a visit and the bureau resolves it (its queue of disputed visits); the agency
rejects a rectification and the bureau verifies a major hazard; the bureau's supervision cases with
their clocks, acknowledged, listed (挂牌) and closed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.pages.visits import _hazard_page, _id
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)
MEDIA = ("image/jpeg", "image/png", "application/pdf")
BUREAU = ("bureau", "admin")


def _must(v: View, value: str) -> str:
    clean = _id(value)
    if clean is None:
        raise Exit(v.error(404, v.t("not_found")))
    return clean


# --- attachments ------------------------------------------------------------------------------------
@router.get("/portal/attachments/{attachment_id}")
async def attachment(attachment_id: str, request: Request) -> Response:
    """The file, fetched with the reader's token (the audit service decides who may see it)."""
    v = await view_of(request)
    v.require("agency", "enterprise", "bureau", "admin")
    reply = await v.api.send("GET", f"/api/v1/attachments/{_must(v, attachment_id)}", timeout=60.0)
    ctype = str(reply.headers.get("content-type") or "").split(";")[0].strip().lower()
    content = reply.body if isinstance(reply.body, bytes) else b""
    disposition = str(reply.headers.get("content-disposition") or "")
    if not disposition.isascii() or any(c in disposition for c in "\r\n") or not disposition.startswith("attachment"):
        disposition = "attachment"
    response = Response(
        content,
        media_type=ctype if ctype in MEDIA else "application/octet-stream",
        headers={"Content-Disposition": disposition},
    )
    return v.finish(response)


# --- disputes ---------------------------------------------------------------------------------------
async def _visit_page(v: View, log_id: str, form: Form, status: int) -> Response:
    entry = await v.api.get(f"/api/v1/service-logs/{log_id}")
    is_enterprise = v.role == "enterprise" and (v.user or {}).get("org_uscc") == entry.get("enterprise_uscc")
    return v.render(
        "visit.html", status=status, log=entry, form=form, can_confirm=is_enterprise and not entry.get("confirmed")
    )


async def _visit_action(
    v: View, log_id: str, action: str, body: dict[str, Any], form: Form, known: set[str]
) -> Response:
    try:
        await v.api.post(f"/api/v1/service-logs/{log_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized or exc.status in (403, 404):
            raise
        form.fail(exc, known, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _visit_page(v, log_id, form, exc.page_status)
    return v.redirect(f"/portal/visits/{log_id}", ok=f"visit_{action}")


@router.post("/portal/visits/{log_id}/dispute")
async def visit_dispute(log_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("enterprise")
    log_id = _must(v, log_id)
    form = await v.form()
    return await _visit_action(v, log_id, "dispute", {"reason": form.get("reason").strip()}, form, {"reason"})


@router.post("/portal/visits/{log_id}/resolve")
async def visit_resolve(log_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    log_id = _must(v, log_id)
    form = await v.form()
    body = {"decision": form.get("decision"), "notes": form.get("notes").strip() or None}
    return await _visit_action(v, log_id, "resolve", body, form, {"decision", "notes"})


@router.get("/portal/disputes")
async def disputes(request: Request) -> Response:
    """The bureau's queue: the visits an enterprise disputed, still to be resolved."""
    v = await view_of(request)
    v.require(*BUREAU)
    params = {"status": "disputed", "limit": 50, "cursor": request.query_params.get("cursor") or None}
    items, cursor = await v.api.page("/api/v1/service-logs", params)
    return v.render("disputes.html", items=items, next_cursor=cursor)


# --- the hazard loop --------------------------------------------------------------------------------
async def _hazard_action(v: View, hazard_id: str, action: str, body: dict[str, Any], form: Form, ok: str) -> Response:
    try:
        await v.api.post(f"/api/v1/hazards/{hazard_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"reason", "note"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _hazard_page(v, hazard_id, form, status=exc.page_status)
    return v.redirect(f"/portal/hazards/{hazard_id}", ok=ok)


@router.post("/portal/hazards/{hazard_id}/rectification/reject")
async def hazard_reject(hazard_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency")
    hazard_id = _must(v, hazard_id)
    form = await v.form()
    body = {"reason": form.get("reason").strip()}
    return await _hazard_action(v, hazard_id, "reject-rectification", body, form, "hazard_rejected")


@router.post("/portal/hazards/{hazard_id}/bureau/verify")
async def hazard_bureau_verify(hazard_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    hazard_id = _must(v, hazard_id)
    form = await v.form()
    note = form.get("note").strip()
    return await _hazard_action(v, hazard_id, "verify", {"note": note} if note else {}, form, "hazard_verify")


# --- supervision ------------------------------------------------------------------------------------
def clock(case: dict[str, Any], v: View, now: datetime | None = None) -> tuple[str, bool]:
    """The case's clock: time left to acknowledge (or how late), the listing's deadline; ``(text, late)``."""
    now = now or datetime.now(UTC)
    status = case.get("status")
    if status == "reported" and case.get("ack_due_at"):
        try:
            due = datetime.fromisoformat(str(case["ack_due_at"]).replace("Z", "+00:00"))
        except ValueError:
            return "", False
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        hours = int((due - now).total_seconds() // 3600)
        if hours < 0:
            return v.t("clock_ack_overdue", hours=-hours), True
        return v.t("clock_ack_left", hours=hours), False
    if status == "listed" and case.get("deadline"):
        try:
            days = (date.fromisoformat(str(case["deadline"])) - now.date()).days
        except ValueError:
            return "", False
        if days < 0:
            return v.t("clock_deadline_overdue", days=-days), True
        return v.t("clock_deadline_left", days=days), False
    return "", False


@router.get("/portal/supervision")
async def supervision(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    q = request.query_params
    status = q.get("status") if q.get("status") in labels.SUPERVISION_STATUS else ""
    district = q.get("district") if q.get("district") in dict(labels.districts(v.lang)) else ""
    params = {"status": status or None, "district": district or None, "limit": 50, "cursor": q.get("cursor") or None}
    items, cursor = await v.api.page("/api/v1/supervision", params)
    return v.render(
        "supervision.html",
        items=[(c, *clock(c, v)) for c in items],
        next_cursor=cursor,
        sel_status=status,
        sel_district=district,
        statuses=labels.choices("supervision_status", v.lang),
        districts=labels.districts(v.lang),
    )


async def _case_page(v: View, case_id: str, form: Form | None = None, status: int = 200) -> Response:
    case = await v.api.get(f"/api/v1/supervision/{case_id}")
    text, late = clock(case, v)
    return v.render("supervision_case.html", status=status, c=case, form=form or Form(), clock_text=text, late=late)


@router.get("/portal/supervision/{case_id}")
async def supervision_case(case_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _case_page(v, _must(v, case_id))


@router.post("/portal/supervision/{case_id}/{action}")
async def supervision_action(case_id: str, action: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    case_id = _must(v, case_id)
    if action not in ("acknowledge", "list", "close"):
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    body: dict[str, Any] = {}
    if action == "list":
        body = {
            "deadline": form.get("deadline").strip() or None,
            "measures": form.get("measures").strip(),
            "responsible": form.get("responsible").strip(),
        }
    elif action == "close":
        body = {"notes": form.get("notes").strip()}
    try:
        await v.api.post(f"/api/v1/supervision/{case_id}/{action}", body, if_match=f'"{form.get("version")}"')
    except ApiError as exc:
        if exc.unauthorized or exc.status in (403, 404):
            raise
        form.fail(
            exc,
            {"deadline", "measures", "responsible", "notes"},
            fallback=v.t("unavailable") if exc.unavailable else "",
        )
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _case_page(v, case_id, form, status=exc.page_status)
    return v.redirect(f"/portal/supervision/{case_id}", ok=f"case_{action}")
