"""Reading the platform's own API for the portal: each list from the service that owns it, with
the reader's token (or anonymously for the public directory), short timeouts, and errors turned
into something a page can show — never a 500."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.settings import Settings

# SPEC §6 routing: which service answers which API prefix.
ROUTES = {
    "/api/v1/directory": "registry", "/api/v1/agencies": "registry", "/api/v1/policy": "registry",
    "/api/v1/enterprises": "enterprises", "/api/v1/contracts": "contracts",
    "/api/v1/service-logs": "audit", "/api/v1/hazards": "audit", "/api/v1/compliance": "audit",
    "/api/v1/audits": "audit", "/api/v1/complaints": "audit", "/api/v1/credit": "audit",
}
PAGE_LIMIT = 200


class UpstreamError(Exception):
    """A call the page cannot complete: ``status`` 0 when the service did not answer."""

    def __init__(self, service: str, status: int, detail: str = "") -> None:
        super().__init__(f"{service}: {status} {detail}")
        self.service = service
        self.status = status
        self.detail = detail

    @property
    def unavailable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429

    @property
    def unauthorized(self) -> bool:
        return self.status == 401


def service_for(path: str) -> str:
    for prefix, service in ROUTES.items():
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
            return service
    raise ValueError(f"no service routes {path}")


@dataclass
class Upstream:
    settings: Settings
    token: str | None = None
    language: str = "zh-CN"
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 5.0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    async def __aenter__(self) -> "Upstream":
        headers = {"Accept-Language": "en" if self.language.startswith("en") else "zh-CN",
                   "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._client = httpx.AsyncClient(transport=self.transport, headers=headers,
                                         timeout=httpx.Timeout(self.timeout, connect=2.0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def url(self, path: str) -> str:
        return self.settings.url_of(service_for(path)) + path

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        assert self._client is not None, "use `async with Upstream(...)`"
        service = service_for(path)
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self._client.get(self.settings.url_of(service) + path, params=clean)
        except (httpx.HTTPError, OSError) as exc:
            raise UpstreamError(service, 0, type(exc).__name__) from exc
        if response.status_code >= 400:
            detail = ""
            try:
                body = response.json()
                detail = str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
            except ValueError:
                pass
            raise UpstreamError(service, response.status_code, detail)
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamError(service, 502, "not JSON") from exc

    async def page(self, path: str, params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        body = await self.get(path, params)
        if not isinstance(body, dict):
            return [], None
        items = body.get("items") or []
        return [i for i in items if isinstance(i, dict)], body.get("next_cursor")

    async def collect(self, path: str, params: dict[str, Any] | None = None, *,
                      max_items: int = 5000) -> tuple[list[dict[str, Any]], bool]:
        """Every item of a list (following ``next_cursor``), up to ``max_items``; returns
        ``(items, truncated)``."""
        params = dict(params or {})
        params["limit"] = PAGE_LIMIT
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            if cursor:
                params["cursor"] = cursor
            batch, cursor = await self.page(path, params)
            items.extend(batch)
            if not cursor or not batch:
                return items, False
            if len(items) >= max_items:
                return items[:max_items], True

    async def gather(self, calls: dict[str, Any]) -> tuple[dict[str, Any], dict[str, UpstreamError]]:
        """Run named coroutines at once; returns ``(results, errors)`` — one failing list does
        not take the page down."""
        names = list(calls)
        outcomes = await asyncio.gather(*calls.values(), return_exceptions=True)
        results: dict[str, Any] = {}
        errors: dict[str, UpstreamError] = {}
        for name, outcome in zip(names, outcomes):
            if isinstance(outcome, UpstreamError):
                errors[name] = outcome
            elif isinstance(outcome, BaseException):
                errors[name] = UpstreamError(name, 0, type(outcome).__name__)
            else:
                results[name] = outcome
        return results, errors
