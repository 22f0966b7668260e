"""The reverse proxy (SPEC §6 routing): raw ASGI over one pooled aiohttp ``ClientSession``.

Why not FastAPI + httpx: measured on this machine, a FastAPI route proxying through a shared
``httpx.AsyncClient`` did ~0.07 of direct throughput (pool lock contention, encode/httpx#3215);
raw ASGI over aiohttp keeps the overhead to one extra hop (docs/DECISIONS.md, D6).

Per request: route by path prefix; apply the rate limits (per client address — ``X-Forwarded-For``
only from a trusted proxy — and per client, keyed by the ``client_id`` of a token the gateway has
*verified*: a forged ``client_id`` cannot drain another client's bucket); refuse bodies over the
limit (413: 1 MiB JSON, 10 MiB uploads) both by ``Content-Length`` and while streaming; refuse
access tokens revoked (a ``jti``, or an account's or client's tokens cut off); pass ``X-Request-ID``; stream the body up and the response down;
a service that cannot be reached answers 503 within the connect timeout (problem+json); upstream
problem bodies pass through untouched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import aiohttp
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from gateway.addresses import address_of_scope
from gateway.ratelimit import TokenBuckets
from shared import tracing
from shared.errors import DomainError, ErrorCode, FieldError, problem
from shared.http import UPSTREAM_IDLE_SECONDS
from shared.i18n import text
from shared.settings import SERVICES, Settings

if TYPE_CHECKING:
    from shared.auth import Principal

TokenCheck = Callable[[str], Awaitable["Principal"]]  # verifies a bearer token; raises shared.auth.TokenRevoked

log = structlog.get_logger("gateway.proxy")

JSON_LIMIT = 1024 * 1024
UPLOAD_LIMIT = 10 * 1024 * 1024
BULK_LIMITS = {
    "/api/v1/enterprises/import": 256 * 1024 * 1024,
    "/api/v1/attachments": UPLOAD_LIMIT + 64 * 1024,  # a 10 MiB file with its multipart framing (SPEC §16)
}  # streamed CSV import (SPEC §8: 100k rows)
# A bulk import answers when the last row is in (a minute for 100k rows on PostgreSQL): its
# upstream may stay silent longer than the ordinary read timeout.
BULK_READ_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=4.0, sock_read=900.0)
STREAM_THRESHOLD = 256 * 1024
ADDRESS_FACTOR = 5  # a client address may send five times one client's rate  # bodies above this (or of unknown length) are streamed upstream

ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/agencies", "registry"),
    ("/api/v1/directory", "registry"),
    ("/api/v1/policy", "registry"),
    ("/api/v1/enterprises", "enterprises"),
    ("/api/v1/contracts", "contracts"),
    ("/api/v1/service-logs", "audit"),
    ("/api/v1/hazards", "audit"),
    ("/api/v1/compliance", "audit"),
    ("/api/v1/audits", "audit"),
    ("/api/v1/complaints", "audit"),
    ("/api/v1/credit", "audit"),
    ("/api/v1/supervision", "audit"),
    ("/api/v1/reports", "audit"),
    ("/api/v1/accidents", "audit"),
    ("/api/v1/attachments", "audit"),
    ("/api/v1/inbox", "notify"),
    ("/api/v1/webhooks", "notify"),
    ("/api/v1/policy/versions", "registry"),  # SPEC §22 (also under /api/v1/policy: said once more)
)
# 一企一档 (SPEC §22): audit builds the enterprise's file from what it holds (docs/DECISIONS.md
# D52), so this one path under the enterprises prefix goes to audit.
ENTERPRISE_FILE = re.compile(r"/api/v1/enterprises/[^/]+/file")
# The work portal (portal/, its own process): its pages, assets and service worker under /portal,
# plus these exact paths (docs/DECISIONS.md D22).
PORTAL = "portal"
PORTAL_PREFIX = "/portal"
PORTAL_PAGES = frozenset({"/", "/policy", "/asyncapi", "/asyncapi.json", "/docs", "/favicon.ico"})
UPSTREAMS = (*SERVICES, PORTAL)
GATEWAY_ADMIN = ("/api/v1/admin/accounts", "/api/v1/admin/clients", "/api/v1/admin/keys")
ADMIN_PREFIX = "/api/v1/admin/"

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"expect",
    }
)  # uvicorn answered any 100-continue already
HOP_BY_HOP_AND_COOKIE = HOP_BY_HOP | {b"cookie"}
RESPONSE_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"x-request-id",
        b"trailer",
        b"proxy-authenticate",
        b"server",
        b"date",
    }
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class RouteError(Exception):
    pass


def route_for(path: str, query_string: bytes = b"") -> str | None:
    """The service that serves ``path``, or None for the gateway itself. Raises RouteError for an
    admin path whose ``service`` parameter is missing or unknown."""
    if ENTERPRISE_FILE.fullmatch(path):
        return "audit"
    for prefix, service in ROUTES:
        if _under(path, prefix):
            return service
    if path in PORTAL_PAGES or _under(path, PORTAL_PREFIX):
        return PORTAL
    if path.startswith(ADMIN_PREFIX) and not any(_under(path, p) for p in GATEWAY_ADMIN):
        values = parse_qs(query_string.decode("latin-1")).get("service", [])
        if len(values) != 1 or values[0] not in SERVICES:
            raise RouteError()
        return values[0]
    return None


def unverified_claims(authorization: bytes) -> dict[str, Any] | None:
    """The payload of a bearer JWT without verifying it: only for rate-limit keys and the revoked
    list (the services verify every token themselves)."""
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    parts = token.strip().split(b".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError, RecursionError):  # RecursionError: deeply nested JSON
        return None
    return claims if isinstance(claims, dict) else None


class BodyTooLarge(Exception):
    pass


class _RouteLabel:
    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class ProxyMiddleware:
    def __init__(
        self,
        app: ASGIApp | None,
        *,
        settings: Settings,
        session_factory: Callable[[], aiohttp.ClientSession],
        verify: TokenCheck,
        limiter: TokenBuckets | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.upstreams = {name: settings.url_of(name) for name in UPSTREAMS}
        self.session_factory = session_factory
        self.verify = verify
        self.limiter = limiter or TokenBuckets(capacity=settings.proxy_rate_burst, rate=settings.proxy_rate_per_second)
        self.address_limiter = TokenBuckets(
            capacity=self.limiter.capacity * ADDRESS_FACTOR, rate=self.limiter.rate * ADDRESS_FACTOR
        )
        # metrics label proxied requests by service (RequestContextMiddleware reads scope["route"].path)
        self.route_labels = {name: _RouteLabel(f"proxy:{name}") for name in UPSTREAMS}

    @property
    def _inner(self) -> ASGIApp:
        """The app behind the proxy when it runs as a middleware (the fast path calls ``forward``)."""
        if self.app is None:
            raise RuntimeError("the proxy was built without an app behind it")
        return self.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        path = scope["path"]
        try:
            service = route_for(path, scope.get("query_string", b""))
        except RouteError:
            await problem(
                422,
                code=ErrorCode.UNKNOWN_SERVICE,
                detail=text(
                    "管理接口须以 service 参数指定服务", "Admin endpoints need a service parameter naming the service"
                ),
                errors=[
                    FieldError("service", text(f"须为 {', '.join(SERVICES)} 之一", f"one of {', '.join(SERVICES)}"))
                ],
                instance=path,
            )(scope, receive, send)
            return
        if service is None:
            await self.own(scope, receive, send)
            return
        await self.forward(service, scope, receive, send)

    async def own(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The gateway's own routes: bodies over 1 MiB get 413 too (by Content-Length, or as they
        are read when the length is not declared)."""
        declared = next((v for n, v in scope.get("headers") or [] if n == b"content-length"), None)
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0 or length > JSON_LIMIT:
                await self._too_large(scope, receive, send, JSON_LIMIT, length >= 0)
                return
            await self._inner(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self._inner(scope, receive, send)
            return
        # No declared length: read (at most 1 MiB) before the route sees it, then replay it.
        body = bytearray()
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > JSON_LIMIT:
                await self._too_large(
                    scope, receive, send, JSON_LIMIT, True, body_done=not message.get("more_body", False)
                )
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self._inner(scope, replay, send)

    async def forward(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        scope["route"] = self.route_labels[service]
        headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        content_length: int | None = None
        content_type = b""
        authorization = b""
        upstream_headers: dict[str, str] = {}
        # Browser cookies are the portal's business: an API service never sees them.
        drop = HOP_BY_HOP if service == PORTAL else HOP_BY_HOP_AND_COOKIE
        for name, value in headers:
            if name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = -1
            elif name == b"content-type":
                content_type = value
            elif name == b"authorization":
                authorization = value
            if name not in drop:
                key = name.decode("latin-1")
                if key in upstream_headers:
                    upstream_headers[key] += ", " + value.decode("latin-1")
                else:
                    upstream_headers[key] = value.decode("latin-1")

        address = address_of_scope(scope, self.settings.trusted_proxies)
        # Per address, and per client only for a token this gateway verified: a client_id read from
        # an unverified token could be forged to drain another client's bucket (the portal's, the
        # CLI's). An invalid token is the service's to refuse (it verifies every token itself).
        wait = self.address_limiter.take(address)
        if not wait and authorization:
            try:
                principal = await self._verified_principal(authorization)
            except DomainError as exc:  # revoked: refused here, whichever service it was meant for
                await problem(
                    401,
                    code=exc.code,
                    detail=exc.detail,
                    instance=path,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )(scope, receive, send)
                return
            if principal is not None:
                scope.setdefault("state", {})["client_id"] = principal.client_id  # for the access log
                # per client and the account it acts for: one public client (the portal, the CLI)
                # serves many people, each with their own bucket; a client_credentials client has one
                wait = self.limiter.take(f"{principal.client_id or ''}|{principal.subject[:64]}")
        if wait > 0:
            retry = max(1, int(wait + 0.999))
            await problem(
                429,
                code=ErrorCode.RATE_LIMITED,
                detail=text("请求过于频繁，请稍后再试", "Too many requests; try again later"),
                instance=path,
                headers={"Retry-After": str(retry)},
            )(scope, receive, send)
            return

        limit = BULK_LIMITS.get(path) or (JSON_LIMIT if _is_json(content_type) or not content_type else UPLOAD_LIMIT)
        if content_length is not None and (content_length < 0 or content_length > limit):
            await self._too_large(scope, receive, send, limit, content_length >= 0)
            return

        request_id = (scope.get("state") or {}).get("request_id")
        if request_id:
            upstream_headers["X-Request-ID"] = request_id
        tracing.inject(upstream_headers)  # the service's span is a child of the gateway's
        upstream_headers["X-Forwarded-For"] = address
        upstream_headers["X-Forwarded-Proto"] = scope.get("scheme", "http")
        host = next((v for n, v in headers if n == b"host"), None)
        if host:
            upstream_headers["X-Forwarded-Host"] = host.decode("latin-1")

        method = scope["method"]
        data: Any = None
        overflow: dict[str, bool] = {}
        if content_length is not None and content_length <= STREAM_THRESHOLD:
            if content_length > 0:
                data = await _read_all(receive, content_length)
                if data is None:
                    return  # the client went away
                upstream_headers["Content-Length"] = str(len(data))
        elif (
            content_length is not None
            or method in ("POST", "PUT", "PATCH")
            or any(n == b"transfer-encoding" for n, _ in headers)
        ):
            data = _stream(receive, limit, overflow)
            if content_length is not None:
                upstream_headers["Content-Length"] = str(content_length)

        raw_path = scope.get("raw_path") or path.encode()
        query = scope.get("query_string", b"")
        url = URL(
            self.upstreams[service] + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""),
            encoded=True,
        )
        started = False
        try:
            bulk: dict[str, Any] = {"timeout": BULK_READ_TIMEOUT} if path in BULK_LIMITS else {}
            async with self.session_factory().request(
                method, url, headers=upstream_headers, data=data, allow_redirects=False, **bulk
            ) as upstream:
                response_headers = [
                    (name, value)
                    for name, value in ((k.lower(), v) for k, v in upstream.raw_headers)
                    if name not in RESPONSE_DROP
                ]
                await send({"type": "http.response.start", "status": upstream.status, "headers": response_headers})
                started = True
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception as exc:
            if overflow.get("too_large"):
                if not started:
                    await self._too_large(scope, receive, send, limit, True, overflow.get("body_done", False))
                return
            if isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError):
                # a header value or path aiohttp will not send: the client's fault, not ours
                if not started:
                    await problem(
                        400,
                        code=ErrorCode.BAD_REQUEST,
                        detail=text("请求头或路径无效", "Invalid request header or path"),
                        instance=path,
                    )(scope, receive, send)
                return
            if not isinstance(exc, (asyncio.TimeoutError, aiohttp.ClientError, OSError)):
                raise
            await self._failed(exc, started, scope, receive, send, service)

    async def _verified_principal(self, authorization: bytes) -> Principal | None:
        """Whom a valid bearer token speaks for; None for no or an invalid token; raises for a
        revoked one."""
        from shared.auth import TokenRevoked

        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return None
        try:
            principal = await self.verify(token.strip().decode("latin-1"))
        except TokenRevoked:
            raise
        except DomainError:
            return None
        return principal

    async def _failed(
        self, exc: BaseException, started: bool, scope: Scope, receive: Receive, send: Send, service: str
    ) -> None:
        timeout = isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, aiohttp.ConnectionTimeoutError)
        log.warning(
            "gateway.proxy.timeout" if timeout else "gateway.proxy.upstream_failed",
            service=service,
            path=scope["path"],
            error=str(exc) or type(exc).__name__,
            response_started=started,
        )
        if not started:
            await self._unavailable(scope, receive, send, service, timeout=timeout)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, limit: int, known: bool, body_done: bool = False
    ) -> None:
        # Read (and drop) what the client is still sending, so that it sees the 413 instead of a
        # reset connection; past DRAIN_LIMIT we stop reading and close the connection.
        drained = body_done or await _drain(receive)
        mib = limit // (1024 * 1024)
        status = 413 if known else 411
        detail = (
            text(f"请求体超过 {mib} MiB 上限", f"The request body exceeds the {mib} MiB limit")
            if known
            else text("Content-Length 无效", "Invalid Content-Length")
        )
        await problem(
            status,
            code=ErrorCode.PAYLOAD_TOO_LARGE if known else ErrorCode.LENGTH_REQUIRED,
            detail=detail,
            instance=scope["path"],
            extra={"limit_bytes": limit},
            headers=None if drained else {"Connection": "close"},
        )(scope, receive, send)

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send, service: str, *, timeout: bool) -> None:
        status = 504 if timeout else 503
        if service == PORTAL:  # a person's browser: a page, not a problem document
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"retry-after", b"5"),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": PORTAL_DOWN_PAGE})
            return
        detail = (
            text(f"服务 {service} 响应超时", f"The {service} service timed out")
            if timeout
            else text(
                f"服务 {service} 暂不可用，请稍后再试", f"The {service} service is unavailable; try again shortly"
            )
        )
        await problem(
            status,
            code=ErrorCode.UPSTREAM_TIMEOUT if timeout else ErrorCode.SERVICE_UNAVAILABLE,
            detail=detail,
            instance=scope["path"],
            extra={"service": service},
            headers={"Retry-After": "5"} if not timeout else None,
        )(scope, receive, send)


PORTAL_DOWN_PAGE = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" '
    'content="width=device-width, initial-scale=1"><title>门户暂不可用 / Portal unavailable</title>'
    '<main><h1>门户暂时不可用，请稍后再试。</h1><p lang="en">The portal is temporarily unavailable; '
    "please try again shortly.</p></main></html>"
).encode()


def _is_json(content_type: bytes) -> bool:
    ctype = content_type.split(b";")[0].strip().lower()
    return ctype == b"application/json" or ctype.endswith(b"+json")


DRAIN_LIMIT = 64 * 1024 * 1024


async def _drain(receive: Receive) -> bool:
    """Discard the rest of the request body; False when it was too long to read to the end."""
    seen = 0
    while seen <= DRAIN_LIMIT:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return False
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


async def _read_all(receive: Receive, expected: int) -> bytes | None:
    body = bytearray()
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > expected:
            return bytes(body[:expected])
        if not message.get("more_body", False):
            return bytes(body)


async def _stream(receive: Receive, limit: int, overflow: dict[str, bool]) -> AsyncIterator[bytes]:
    seen = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise aiohttp.ClientPayloadError("client disconnected")
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            overflow["too_large"] = True
            overflow["body_done"] = not message.get("more_body", False)
            raise BodyTooLarge()
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def new_session(settings: Settings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=512, limit_per_host=256, keepalive_timeout=UPSTREAM_IDLE_SECONDS, ttl_dns_cache=300
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=min(settings.peer_timeout_seconds, 4.0),
        sock_connect=min(settings.peer_timeout_seconds, 4.0),
        sock_read=settings.proxy_read_timeout_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
