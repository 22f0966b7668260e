"""Calls to the public API as the signed-in person (the token of ``custody login``), through the
gateway; a problem's detail (and its field errors) becomes the error's message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from cli.auth import LoginError, load, valid_access_token

TIMEOUT = 15.0


class ApiError(RuntimeError):
    pass


def gateway_of(gateway: str | None) -> str:
    base = (gateway or (load() or {}).get("gateway") or "").rstrip("/")
    if not base:
        raise ApiError("no gateway: pass --gateway or run `custody login`")
    return base


def headers_of(language: str) -> dict[str, str]:
    try:
        token = valid_access_token()
    except (LoginError, httpx.HTTPError) as exc:
        raise ApiError(str(exc)) from exc
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


def call(
    method: str,
    path: str,
    *,
    gateway: str | None = None,
    language: str = "zh-CN",
    timeout: float = TIMEOUT,
    headers: dict[str, str] | None = None,
    content: Iterable[bytes] | bytes | None = None,
    **kw: Any,
) -> Any:
    """One request as the signed-in person; its JSON, or ApiError with the problem's detail."""
    base = gateway_of(gateway)
    sent = {**headers_of(language), **(headers or {})}
    try:
        response = httpx.request(method, f"{base}{path}", headers=sent, timeout=timeout, content=content, **kw)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach {base}: {exc}") from exc
    if response.status_code >= 400:
        raise ApiError(problem_text(response))
    return response.json() if response.content else None


def problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        detail = body.get("detail") or body.get("title")
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in body.get("errors") or [])
    except (ValueError, AttributeError, KeyError, TypeError):
        detail, errors = response.text[:300], ""
    return f"{response.status_code} {detail}" + (f" ({errors})" if errors else "")
