"""``custody inbox`` and ``custody webhooks list|add|rm``: the signed-in person's notifications and
webhook subscriptions (SPEC §15), through the gateway with the token of ``custody login``."""

from __future__ import annotations

from typing import Any

import httpx

from cli.auth import LoginError, load, valid_access_token


class NotifyError(RuntimeError):
    pass


def call(method: str, path: str, *, gateway: str | None = None, language: str = "zh-CN", **kw: Any) -> Any:
    """One request as the signed-in person; the problem's detail as the error otherwise."""
    try:
        token = valid_access_token()
    except (LoginError, httpx.HTTPError) as exc:
        raise NotifyError(str(exc)) from exc
    base = (gateway or (load() or {}).get("gateway") or "").rstrip("/")
    if not base:
        raise NotifyError("no gateway: pass --gateway or run `custody login`")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    try:
        response = httpx.request(method, f"{base}{path}", headers=headers, timeout=15.0, **kw)
    except httpx.HTTPError as exc:
        raise NotifyError(f"cannot reach {base}: {exc}") from exc
    if response.status_code >= 400:
        try:
            body = response.json()
            detail = body.get("detail") or body.get("title")
            errors = "; ".join(f"{e['field']}: {e['message']}" for e in body.get("errors") or [])
        except ValueError:
            detail, errors = response.text[:300], ""
        raise NotifyError(f"{response.status_code} {detail}" + (f" ({errors})" if errors else ""))
    return response.json() if response.content else None


def unread(
    *, gateway: str | None, language: str, kind: str | None, limit: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    params: dict[str, Any] = {"unread": "true", "limit": limit, **({"kind": kind} if kind else {})}
    page = call("GET", "/api/v1/inbox", gateway=gateway, language=language, params=params)
    summary = call("GET", "/api/v1/inbox/summary", gateway=gateway, language=language)
    return page["items"], summary


def mark_read(item_ids: list[str], *, gateway: str | None) -> None:
    for item_id in item_ids:
        call("POST", f"/api/v1/inbox/{item_id}/read", gateway=gateway)
