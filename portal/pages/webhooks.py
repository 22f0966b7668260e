"""Webhooks (SPEC §15) of an organisation's admin, a bureau account or admin: the subscriptions,
subscribe (the signing secret is shown once, on the answer page, never in a URL), delete, the
delivery attempts of one subscription and retrying one. Who may own them is the notify service's
rule (an organisation's other members get its 403, shown as a page)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.api import ApiError
from portal.web import Exit, Form, View, view_of

router = APIRouter(include_in_schema=False)
ROLES = ("agency", "enterprise", "bureau", "admin")
FIELDS = {"url", "events", "description"}
ID = re.compile(r"^[0-9a-fA-F-]{1,40}$")


def may_own(v: View) -> bool:
    """Whether the menu offers webhooks to this person (the API decides in the end)."""
    user = v.user or {}
    return v.role in ("bureau", "admin") or bool(user.get("org_admin") and user.get("org_uscc"))


def _id(v: View, value: str) -> str:
    if not ID.match(value):
        raise Exit(v.error(404, v.t("not_found")))
    return value.lower()


def _cursor(request: Request) -> str | None:
    cursor = request.query_params.get("cursor") or None
    return cursor if cursor and len(cursor) <= 500 else None


def events_of(text: str) -> list[str]:
    """Event types as typed (spaces, commas, 、 or new lines between them), each once, in order."""
    seen: list[str] = []
    for part in re.split(r"[\s,，、;；]+", text.strip()):
        if part and part not in seen:
            seen.append(part)
    return seen


async def _list_page(v: View, form: Form, status: int = 200, cursor: str | None = None) -> Response:
    notice: str | None = None
    try:
        items, next_cursor = await v.api.page("/api/v1/webhooks", {"limit": 50, "cursor": cursor})
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable or exc.status in (403, 404) or cursor is None:
            raise
        items, next_cursor = await v.api.page("/api/v1/webhooks", {"limit": 50})
        notice = exc.detail or v.t("bad_request")
    return v.render(
        "webhooks.html",
        status=status,
        items=items,
        next_cursor=next_cursor,
        form=form,
        notice=notice,
        idem=form.get("idem") or v.new_key(),
    )


@router.get("/portal/webhooks")
async def webhooks(request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    return await _list_page(v, Form(), cursor=_cursor(request))


@router.post("/portal/webhooks")
async def subscribe(request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    form = await v.form()
    body: dict[str, Any] = {
        "url": form.get("url").strip(),
        "events": events_of(form.get("events")),
        "description": form.text("description"),
    }
    try:
        reply = await v.api.post("/api/v1/webhooks", body, idempotency_key=form.text("idem"))
    except ApiError as exc:
        if exc.unauthorized:
            raise
        form.fail(exc, FIELDS, fallback=v.t("unavailable") if exc.unavailable else "")
        return await _list_page(v, form, status=exc.status if 400 <= exc.status < 500 else 503)
    created = reply.body if isinstance(reply.body, dict) else {}
    return v.render("webhook_created.html", hook=created)


@router.get("/portal/webhooks/{hook_id}")
async def webhook(hook_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    hook_id = _id(v, hook_id)
    cursor = _cursor(request)
    results, errors = await v.api.gather(
        {
            "hook": v.api.get(f"/api/v1/webhooks/{hook_id}"),
            "deliveries": v.api.page(f"/api/v1/webhooks/{hook_id}/deliveries", {"limit": 50, "cursor": cursor}),
        }
    )
    if "hook" in errors:
        raise errors["hook"]
    deliveries, next_cursor = results.get("deliveries") or ([], None)
    problem = errors.get("deliveries")
    if problem is not None and problem.unauthorized:
        raise problem
    return v.render(
        "webhook.html",
        hook=results["hook"],
        deliveries=deliveries,
        next_cursor=next_cursor,
        deliveries_failed=(problem.detail or v.t("unavailable")) if problem is not None else None,
    )


@router.post("/portal/webhooks/{hook_id}/delete")
async def unsubscribe(hook_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    hook_id = _id(v, hook_id)
    await v.form()
    await _act(v, "DELETE", f"/api/v1/webhooks/{hook_id}")
    return v.redirect("/portal/webhooks", ok="webhook_deleted")


@router.post("/portal/webhooks/{hook_id}/deliveries/{delivery_id}/retry")
async def retry(hook_id: str, delivery_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    hook_id, delivery_id = _id(v, hook_id), _id(v, delivery_id)
    await v.form()
    await _act(v, "POST", f"/api/v1/webhooks/{hook_id}/deliveries/{delivery_id}/retry")
    return v.redirect(f"/portal/webhooks/{hook_id}", ok="webhook_retry")


async def _act(v: View, method: str, path: str) -> None:
    try:
        await v.api.send(method, path, json={} if method == "POST" else None)
    except ApiError as exc:
        if exc.unauthorized or exc.status in (403, 404):
            raise
        status = exc.status if 400 <= exc.status < 500 else 503
        message = v.t("unavailable") if exc.unavailable else v.t("action_failed")
        raise Exit(v.error(status, message, detail=exc.detail or None)) from exc
