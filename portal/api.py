"""The portal's one way to the platform: the public API through the gateway, as the signed-in
person (their own bearer token) or anonymously, in the reader's language.

Every failure becomes an ``ApiError`` a page can show: the API's problem document (``detail``,
``code``, ``errors: [{field, message}]``) for a refusal, status 0 when nothing answered. Nothing
here raises anything else, so that no page answers 500 because a service is down.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from shared.http import UPSTREAM_IDLE_SECONDS

log = structlog.get_logger("portal.api")
PAGE_LIMIT = 200


class ApiError(Exception):
    """A call the page cannot complete. ``status`` 0: nobody answered."""

    def __init__(self, status: int, problem: dict[str, Any] | None = None, *, path: str = "") -> None:
        self.status = status
        self.problem = problem or {}
        self.path = path
        super().__init__(f"{path}: {status} {self.detail}")

    @property
    def page_status(self) -> int:
        """The status of the page that shows this failure next to the form: the API's own 4xx, or
        503 for anything the person cannot mend."""
        return self.status if 400 <= self.status < 500 else 503

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or "")

    @property
    def errors(self) -> dict[str, str]:
        """``{field: message}`` from the problem's ``errors`` (the first message of each field)."""
        out: dict[str, str] = {}
        for item in self.problem.get("errors") or []:
            if isinstance(item, dict) and item.get("field") is not None:
                out.setdefault(str(item["field"]), str(item.get("message") or ""))
        return out

    @property
    def unavailable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429

    @property
    def unauthorized(self) -> bool:
        return self.status == 401


@dataclass
class Reply:
    status: int
    headers: Any
    body: Any

    @property
    def etag(self) -> str | None:
        etag: str | None = self.headers.get("etag")
        return etag


@dataclass
class Api:
    """Bound to one reader: ``token`` (None: anonymous), ``language`` and the browser's address
    (sent as ``X-Forwarded-For``, so the gateway's per-address limits see people, not the portal)."""

    client: Any  # AiohttpClient, or httpx.AsyncClient in tests
    token: str | None = None
    language: str = "zh-CN"
    address: str | None = None
    request_id: str | None = None
    calls: int = field(default=0)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept-Language": "en" if self.language.startswith("en") else "zh-CN", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.address:
            headers["X-Forwarded-For"] = self.address
        if self.request_id:
            headers["X-Request-ID"] = self.request_id
        for name, value in (extra or {}).items():
            # A header from a form (If-Match from a hidden version, an idempotency key) that is not
            # printable ASCII cannot be sent: it is sent as a value that matches nothing, so the API
            # answers its own problem (412, 400) instead of the page failing.
            headers[name] = value if value.isascii() and value.isprintable() else '"unmatchable"'
        return headers

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        files: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        self.calls += 1
        try:
            response = await self.client.request(
                method,
                path,
                params=clean,
                json=json,
                content=content,
                files=files,
                data=data,
                headers=self._headers(headers),
                **({"timeout": timeout} if timeout is not None else {}),
            )
        except (httpx.HTTPError, OSError) as exc:
            log.warning("portal.api.unreachable", path=path, error=type(exc).__name__)
            raise ApiError(0, path=path) from exc
        body: Any = None
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            try:
                body = response.json()
            except ValueError:
                body = None
        else:
            body = response.content
        if response.status_code >= 400:
            problem = body if isinstance(body, dict) else {}
            if response.status_code >= 500:
                log.warning("portal.api.failed", path=path, status=response.status_code)
            raise ApiError(response.status_code, problem, path=path)
        return Reply(response.status_code, response.headers, body)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self.send("GET", path, params=params)).body

    async def post(
        self, path: str, body: Any = None, *, if_match: str | None = None, idempotency_key: str | None = None
    ) -> Reply:
        headers: dict[str, str] = {}
        if if_match and if_match != '""':
            headers["If-Match"] = if_match
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return await self.send("POST", path, json=body if body is not None else {}, headers=headers)

    async def patch(self, path: str, body: Any, *, if_match: str | None = None) -> Reply:
        return await self.send(
            "PATCH", path, json=body, headers={"If-Match": if_match} if if_match and if_match != '""' else None
        )

    async def page(self, path: str, params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        body = await self.get(path, params)
        if not isinstance(body, dict):
            return [], None
        return [i for i in body.get("items") or [] if isinstance(i, dict)], body.get("next_cursor")

    async def pages(
        self, path: str, params: dict[str, Any] | None = None, *, max_items: int | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a list in turn (following ``next_cursor``), up to ``max_items``."""
        params = {**(params or {}), "limit": PAGE_LIMIT}
        seen = 0
        while True:
            batch, cursor = await self.page(path, params)
            if max_items is not None and seen + len(batch) > max_items:
                batch = batch[: max_items - seen]
            seen += len(batch)
            if batch:
                yield batch
            if not cursor or not batch or (max_items is not None and seen >= max_items):
                return
            params["cursor"] = cursor

    async def collect(
        self, path: str, params: dict[str, Any] | None = None, *, max_items: int = 5000
    ) -> tuple[list[dict[str, Any]], bool]:
        """Every item of a list up to ``max_items``; ``(items, truncated)``."""
        items: list[dict[str, Any]] = []
        async for batch in self.pages(path, params, max_items=max_items + 1):
            items.extend(batch)
        return items[:max_items], len(items) > max_items

    async def gather(self, calls: dict[str, Any]) -> tuple[dict[str, Any], dict[str, ApiError]]:
        """Named coroutines at once: ``(results, errors)`` — one failing list does not take the
        page down."""
        names = list(calls)
        outcomes = await asyncio.gather(*calls.values(), return_exceptions=True)
        results: dict[str, Any] = {}
        errors: dict[str, ApiError] = {}
        for name, outcome in zip(names, outcomes, strict=False):
            if isinstance(outcome, ApiError):
                errors[name] = outcome
            elif isinstance(outcome, BaseException):
                log.warning("portal.api.gather_failed", call=name, error=repr(outcome))
                errors[name] = ApiError(0, path=name)
            else:
                results[name] = outcome
        return results, errors


class _Response:
    """The few parts of an httpx response the portal reads, for an aiohttp answer."""

    def __init__(self, status: int, headers: Any, content: bytes) -> None:
        self.status_code = status
        self.headers = httpx.Headers(list(headers.items()))
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)


class AiohttpClient:
    """The gateway over one pooled ``aiohttp.ClientSession``, with the httpx calling convention the
    portal uses. Why not httpx here: a shared ``httpx.AsyncClient`` contends on its pool lock under
    concurrency (encode/httpx#3215; STYLE.md) and every page makes several calls at once. Tests
    pass an httpx transport instead (``new_client(..., transport)``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: Any = None

    def _get_session(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=256, limit_per_host=256, keepalive_timeout=UPSTREAM_IDLE_SECONDS)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=2.0, sock_read=10.0),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        files: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,
    ) -> _Response:
        import aiohttp

        body: Any = None
        headers = dict(headers or {})
        if json is not None:
            body = _json.dumps(json, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        elif content is not None:
            body = content
        elif files:
            form = aiohttp.FormData()
            for key, value in (data or {}).items():
                form.add_field(key, str(value))
            for key, (filename, blob, ctype) in files.items():
                form.add_field(key, blob, filename=filename, content_type=ctype)
            body = form
        elif data is not None:
            body = aiohttp.FormData(data)
        options: dict[str, Any] = {}
        if isinstance(timeout, (int, float)):
            options["timeout"] = aiohttp.ClientTimeout(total=None, sock_connect=2.0, sock_read=float(timeout))
        try:
            async with self._get_session().request(
                method,
                self.base_url + path,
                params=params or None,
                data=body,
                headers=headers,
                allow_redirects=False,
                **options,
            ) as response:
                return _Response(response.status, response.headers, await response.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc

    async def post(
        self, path: str, *, data: Any = None, headers: dict[str, str] | None = None, timeout: Any = None
    ) -> _Response:
        return await self.request("POST", path, data=data, headers=headers, timeout=timeout)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def new_client(base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> Any:
    """aiohttp in production; httpx over the given transport in tests."""
    if transport is None:
        return AiohttpClient(base_url)
    return httpx.AsyncClient(
        base_url=base_url, transport=transport, follow_redirects=False, timeout=httpx.Timeout(10.0, connect=2.0)
    )
