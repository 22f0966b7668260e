"""Organisations (SPEC §14): the bureau's verification queue and its decision (verify or reject,
with comments), and an organisation's own page — its status, and for its admin the members, an
invitation code for a colleague (shown once) and removing a member."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal import labels
from portal.api import ApiError
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)
STATUSES = ("pending", "verified", "rejected", "suspended")
KINDS = ("agency", "enterprise")
USCC = re.compile(r"^[0-9A-Z]{18}$")
ACCOUNT = re.compile(r"^[0-9a-fA-F-]{1,40}$")


def _uscc(v: View, value: str) -> str:
    value = value.strip().upper()
    if not USCC.match(value):
        raise Exit(v.error(404, v.t("not_found")))
    return value


async def _queue(v: View, request: Request, form: Form | None = None, status_code: int = 200) -> Response:
    q = request.query_params
    status = q.get("status") if q.get("status") in STATUSES else ("" if "status" in q else "pending")
    kind = q.get("kind") if q.get("kind") in KINDS else ""
    codes = {c for c, _ in labels.districts(v.lang)}
    district = q.get("district") if q.get("district") in codes else ""
    cursor = q.get("cursor") or None
    params = {"status": status or None, "kind": kind or None, "district": district or None, "limit": 50}
    notice: str | None = None
    try:
        items, next_cursor = await v.api.page("/api/v1/organisations", {**params, "cursor": cursor})
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable or exc.status in (403, 404) or cursor is None:
            raise
        items, next_cursor = await v.api.page("/api/v1/organisations", params)
        notice = exc.detail or v.t("bad_request")
    return v.render(
        "organisations.html",
        status=status_code,
        items=items,
        next_cursor=next_cursor,
        sel_status=status,
        kind=kind,
        district=district,
        districts=labels.districts(v.lang),
        statuses=[(s, labels.name("org_status", s, v.lang)) for s in STATUSES],
        kinds=[(k, labels.name("party", k, v.lang)) for k in KINDS],
        notice=notice,
        form=form or Form(),
    )


@router.get("/portal/organisations")
async def organisations(request: Request) -> Response:
    v = await view_of(request)
    v.require("bureau", "admin")
    return await _queue(v, request)


@router.post("/portal/organisations/{uscc}/verify")
async def verify(uscc: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("bureau", "admin")
    uscc = _uscc(v, uscc)
    form = await v.form()
    body = {"decision": form.get("decision"), "comments": form.get("comments").strip()}
    version = form.get("version")
    if not re.fullmatch(r"[0-9]{1,10}", version):
        raise Exit(v.error(400, v.t("bad_request")))  # a header carries it: only digits (never a 500)
    try:
        await v.api.post(f"/api/v1/organisations/{uscc}/verify", body, if_match=f'"{version}"')
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.values["uscc"] = uscc
        form.fail(exc, {"decision", "comments"}, fallback=v.t("unavailable") if exc.unavailable else "")
        if exc.status == 412:
            form.general.insert(0, v.t("stale_version"))
        return await _queue(v, request, form, status_code=exc.status if 400 <= exc.status < 500 else 503)
    return v.redirect("/portal/organisations", ok=f"org_{'verified' if body['decision'] == 'verify' else 'rejected'}")


# --- my organisation --------------------------------------------------------------------------------
async def _mine(v: View, invitation: dict[str, Any] | None = None, problem: str | None = None) -> Response:
    uscc = str((v.user or {}).get("org_uscc") or "")
    if not uscc:
        raise Exit(v.error(404, v.t("not_found")))
    admin = bool((v.user or {}).get("org_admin"))
    calls: dict[str, Any] = {"org": v.api.get(f"/api/v1/organisations/{uscc}")}
    if admin:
        calls["members"] = v.api.get(f"/api/v1/organisations/{uscc}/members")
    results, errors = await v.api.gather(calls)
    if "org" in errors:
        raise errors["org"]
    members = results.get("members") if isinstance(results.get("members"), dict) else {}
    return v.render(
        "organisation.html",
        org=results["org"],
        admin=admin,
        members=(members or {}).get("items") or [],
        members_failed=v.t("unavailable") if "members" in errors else None,
        invitation=invitation,
        problem=problem,
    )


@router.get("/portal/organisation")
async def my_organisation(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    return await _mine(v)


@router.post("/portal/organisation/invitations")
async def invite(request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    await v.form()
    uscc = str((v.user or {}).get("org_uscc") or "")
    try:
        reply = await v.api.post(f"/api/v1/organisations/{uscc}/invitations", {})
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable or exc.status == 404:
            raise
        return await _mine(v, problem=exc.detail or v.t("action_failed"))
    return await _mine(v, invitation=reply.body if isinstance(reply.body, dict) else {})


@router.post("/portal/organisation/members/{account_id}/remove")
async def remove_member(account_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require("agency", "enterprise")
    if not ACCOUNT.match(account_id):
        raise Exit(v.error(404, v.t("not_found")))
    await v.form()
    uscc = str((v.user or {}).get("org_uscc") or "")
    try:
        await v.api.send("DELETE", f"/api/v1/organisations/{uscc}/members/{account_id}")
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable or exc.status == 404:
            raise
        return await _mine(v, problem=exc.detail or v.t("action_failed"))
    return v.redirect("/portal/organisation", ok="member_removed")
