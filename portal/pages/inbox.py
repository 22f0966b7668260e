"""The inbox (SPEC §15): what awaits the signed-in person — the list (unread only, by kind, in
pages), mark one read, read all — and the unread/urgent count in the header of every page (one
``GET /api/v1/inbox/summary`` per page, failing soft: a notify service that is down or slow costs
the header its count, never the page). Each item links to the portal page of its entity when the
portal has one (the API's ``link`` mapped by ``portal_link``)."""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from portal.api import ApiError
from portal.pages.webhooks import may_own
from portal.web import Exit, View, view_of

log = structlog.get_logger("portal.inbox")
router = APIRouter(include_in_schema=False)

ROLES = ("agency", "enterprise", "bureau", "admin")
SUMMARY_TIMEOUT = 2.0
KIND = re.compile(r"^[a-z_]{1,30}(\.[a-z_]{1,30}){0,2}$")
SEGMENT = r"([A-Za-z0-9_-]{1,64})"
# The API path of an entity (services/notify/messages.py LINKS) → the portal page that shows it.
LINKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^/api/v1/agencies/{SEGMENT}$"), "/portal/agencies/{0}"),
    (re.compile(rf"^/api/v1/credit/agencies/{SEGMENT}$"), "/portal/agencies/{0}"),
    (re.compile(rf"^/api/v1/contracts/{SEGMENT}$"), "/portal/contracts/{0}"),
    (re.compile(rf"^/api/v1/compliance/contracts/{SEGMENT}$"), "/portal/contracts/{0}"),
    (re.compile(rf"^/api/v1/service-logs/{SEGMENT}$"), "/portal/visits/{0}"),
    (re.compile(rf"^/api/v1/hazards/{SEGMENT}$"), "/portal/hazards/{0}"),
    (re.compile(rf"^/api/v1/complaints/{SEGMENT}$"), "/portal/complaints/{0}"),
]
# Pages that are not HTML pages (downloads, scripts, the OAuth round trip): no header, no count.
NO_BADGE = ("/portal/static/", "/portal/exports/", "/portal/callback", "/portal/login", "/portal/sw.js")


def portal_link(link: Any) -> str | None:
    """The portal page of an inbox item's entity, or None when the portal has none."""
    if not isinstance(link, str) or len(link) > 300:
        return None
    for pattern, target in LINKS:
        match = pattern.match(link)
        if match:
            return target.format(*match.groups())
    return None


def wants_badge(v: View) -> bool:
    request = v.request
    path = request.url.path
    if v.user is None or request.method not in ("GET", "HEAD"):
        return False
    if not (path == "/" or path in ("/policy", "/asyncapi", "/docs") or path.startswith("/portal")):
        return False
    return not (path.startswith(NO_BADGE) or "/documents/" in path)


async def summary(v: View) -> dict[str, int] | None:
    """``{unread, urgent}`` for the header, or None (not signed in, or notify did not answer)."""
    if not wants_badge(v):
        return None
    try:
        body = (await v.api.send("GET", "/api/v1/inbox/summary", timeout=SUMMARY_TIMEOUT)).body
    except ApiError as exc:
        log.info("portal.inbox.summary_unavailable", status=exc.status)
        return None
    except Exception as exc:  # a header count never takes a page down
        log.warning("portal.inbox.summary_failed", error=type(exc).__name__)
        return None
    if not isinstance(body, dict):
        return None
    try:
        return {"unread": max(0, int(body.get("unread") or 0)), "urgent": max(0, int(body.get("urgent") or 0))}
    except (TypeError, ValueError):
        return None


def _filters(request: Request) -> tuple[bool, str]:
    q = request.query_params
    unread = q.get("unread") in ("1", "true", "on")
    kind = (q.get("kind") or "").strip()
    return unread, kind if KIND.match(kind) else ""


def _back(unread: bool, kind: str) -> str:
    parts = [p for p in (("unread=1" if unread else ""), (f"kind={kind}" if kind else "")) if p]
    return "/portal/inbox" + (f"?{'&'.join(parts)}" if parts else "")


@router.get("/portal/inbox")
async def inbox(request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    unread, kind = _filters(request)
    cursor = request.query_params.get("cursor") or None
    if cursor and len(cursor) > 500:
        cursor = None
    params = {"unread": "true" if unread else None, "kind": kind or None, "limit": 25, "cursor": cursor}
    notice: str | None = None
    try:
        items, next_cursor = await v.api.page("/api/v1/inbox", params)
    except ApiError as exc:
        if exc.unauthorized or exc.unavailable or exc.status in (403, 404):
            raise
        # a stale cursor or a filter the API refuses: the first page, with the API's reason
        items, next_cursor = await v.api.page("/api/v1/inbox", {**params, "cursor": None})
        notice = exc.detail or v.t("bad_request")
    for item in items:
        item["portal_link"] = portal_link(item.get("link"))
    kinds = sorted({str(i["kind"]) for i in items if isinstance(i.get("kind"), str)} | ({kind} if kind else set()))
    return v.render(
        "inbox.html",
        items=items,
        next_cursor=next_cursor,
        unread=unread,
        kind=kind,
        kinds=kinds,
        back=_back(unread, kind),
        notice=notice,
        may_webhooks=may_own(v),
    )


def _safe_back(value: str) -> str:
    return value if value.startswith("/portal/inbox") and "//" not in value and len(value) < 300 else "/portal/inbox"


@router.post("/portal/inbox/read-all")
async def read_all(request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    form = await v.form()
    await _act(v, "/api/v1/inbox/read-all")
    return v.redirect(_safe_back(form.get("back")), ok="inbox_read_all")


@router.post("/portal/inbox/{item_id}/read")
async def read_one(item_id: str, request: Request) -> Response:
    v = await view_of(request)
    v.require(*ROLES)
    if not re.fullmatch(r"[0-9a-fA-F-]{1,40}", item_id):
        raise Exit(v.error(404, v.t("not_found")))
    form = await v.form()
    await _act(v, f"/api/v1/inbox/{item_id}/read")
    target = form.get("open")
    if target and portal_link(form.get("link")) == target:
        return v.redirect(target)  # "read and open": mark it read, then go to its page
    return v.redirect(_safe_back(form.get("back")), ok="inbox_read")


async def _act(v: View, path: str) -> None:
    try:
        await v.api.post(path)
    except ApiError as exc:
        if exc.unauthorized or exc.status in (403, 404):
            raise
        status = exc.status if 400 <= exc.status < 500 else 503
        raise Exit(v.error(status, v.t("unavailable") if exc.unavailable else v.t("action_failed"))) from exc
