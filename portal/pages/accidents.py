"""Accidents and their back-tracing (一案双查, SPEC §20), for the bureau: record an accident, the
list, an accident's page with the custody record as of the accident (each section a table), the
same dossier as XLSX (the portal asks the API for it with the bureau's own token) and the
findings form (an agency at fault gets a fraud-sized credit record)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.web import Form, View, integer, view_of
from shared.exports import XLSX_MEDIA_TYPE

router = APIRouter(include_in_schema=False)
BUREAU = ("bureau", "admin")
ACCIDENT_FIELDS = {"enterprise_uscc", "occurred_at", "severity", "deaths", "injuries", "description"}
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")  # what <input type="datetime-local"> sends


def occurred_at(value: str) -> str:
    """A ``datetime-local`` value is Jiangmen time (UTC+8); anything else goes as typed (the API says
    what is wrong with it)."""
    value = value.strip()
    return f"{value}:00+08:00" if LOCAL_TIME.match(value) else value


@router.get("/portal/accidents")
async def accidents(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    district = request.query_params.get("district")
    district = district if district in dict(labels.districts(v.lang)) else ""
    cursor = request.query_params.get("cursor") or None
    items, next_cursor = await v.api.page(
        "/api/v1/accidents", {"district": district or None, "limit": 50, "cursor": cursor if cursor else None}
    )
    return v.render(
        "accidents.html", items=items, next_cursor=next_cursor, district=district, districts=labels.districts(v.lang)
    )


def _accident_form(v: View, form: Form, status: int = 200) -> Response:
    return v.render(
        "accident_new.html",
        status=status,
        form=form,
        severities=labels.choices("accident_severity", v.lang),
        idem=form.get("idem") or v.new_key(),
    )


@router.get("/portal/accidents/new")
async def accident_form(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    uscc = (request.query_params.get("enterprise_uscc") or "")[:40]
    return _accident_form(
        v, Form.of(initial={"enterprise_uscc": uscc, "severity": "general", "deaths": 0, "injuries": 0})
    )


@router.post("/portal/accidents/new")
async def accident_record(request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body: dict[str, Any] = {
        "enterprise_uscc": form.get("enterprise_uscc").strip(),
        "occurred_at": occurred_at(form.get("occurred_at")),
        "severity": form.get("severity"),
        "deaths": integer(form.get("deaths")) or 0,
        "injuries": integer(form.get("injuries")) or 0,
        "description": form.get("description").strip(),
    }
    try:
        reply = await v.api.post("/api/v1/accidents", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, ACCIDENT_FIELDS, fallback=v.t("unavailable") if exc.unavailable else "")
        return _accident_form(v, form, status=exc.page_status)
    return v.redirect(f"/portal/accidents/{reply.body['id']}", ok="accident_recorded")


async def _accident_page(v: View, accident_id: str, form: Form | None = None, status: int = 200) -> Response:
    results, errors = await v.api.gather(
        {
            "accident": v.api.get(f"/api/v1/accidents/{accident_id}"),
            "dossier": v.api.get(f"/api/v1/accidents/{accident_id}/dossier"),
        }
    )
    if "accident" in errors:
        raise errors["accident"]
    accident = results["accident"]
    return v.render(
        "accident.html",
        status=status,
        a=accident,
        dossier=results.get("dossier"),
        dossier_missing="dossier" in errors,
        form=form or Form(),
        can_find=accident.get("agency_at_fault") is None,
    )


@router.get("/portal/accidents/{accident_id}")
async def accident(accident_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    return await _accident_page(v, accident_id)


@router.get("/portal/accidents/{accident_id}/dossier.xlsx")
async def dossier_xlsx(accident_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    reply = await v.api.send(
        "GET", f"/api/v1/accidents/{accident_id}/dossier", headers={"Accept": XLSX_MEDIA_TYPE}, timeout=60.0
    )
    content = reply.body if isinstance(reply.body, bytes) else b""
    if not content.startswith(b"PK"):  # not a workbook: the API did not answer with one
        return v.error(503, v.t("unavailable"))
    safe_id = "".join(ch for ch in accident_id if ch.isalnum() or ch == "-")[:40]
    return v.finish(
        Response(
            content,
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="accident-{safe_id}-dossier.xlsx"'},
        )
    )


@router.post("/portal/accidents/{accident_id}/findings")
async def findings(accident_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*BUREAU)
    form = await v.form()
    body = {"agency_at_fault": form.checked("agency_at_fault"), "findings": form.get("findings").strip()}
    try:
        await v.api.post(f"/api/v1/accidents/{accident_id}/findings", body)
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, {"agency_at_fault", "findings"}, fallback=v.t("unavailable") if exc.unavailable else "")
        return await _accident_page(v, accident_id, form, status=exc.page_status)
    return v.redirect(f"/portal/accidents/{accident_id}", ok="findings_recorded")
