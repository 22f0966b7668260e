"""``custody inbox`` and ``custody webhooks list|add|rm``: the signed-in person's notifications and
webhook subscriptions (SPEC §15), through the gateway with the token of ``custody login``."""

from __future__ import annotations

from typing import Any

from cli.api import call


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
