"""HTTP plumbing shared by every service: request ids, content-type checks, ETag / If-Match,
Prometheus metrics, and the language of user-facing text."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, TypeVar
from urllib.parse import parse_qsl

import structlog
from fastapi import Depends, Query, Request, Response
from fastapi.responses import FileResponse
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.context import request_id_var
from shared.errors import ErrorCode, FieldError, PreconditionFailed, problem
from shared.i18n import current_language, negotiate, text
from shared.logging import log_request
from shared.validation import has_control

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")

HTTP_REQUESTS = Counter("custody_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "custody_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})


class RequestContextMiddleware:
    """Accepts or generates ``X-Request-ID``, binds it to logs and events, echoes it back, picks the
    response language, and counts the request in the metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        token_rid = request_id_var.set(request_id)
        token_lang = current_language.set(negotiate(headers.get(b"accept-language", b"").decode("latin-1")))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status_holder = {"status": 500}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*list(message["headers"]), (b"x-request-id", request_id.encode())]
            await send(message)

        traceparent = headers.get(b"traceparent")
        parent = tracing.from_traceparent(traceparent.decode("latin-1")) if traceparent else None
        with tracing.span(scope["method"], kind=tracing.SERVER, parent=parent) as request_span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = getattr(scope.get("route"), "path", None)
                template = route or "unmatched"
                seconds = time.perf_counter() - started
                status = status_holder["status"]
                HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
                HTTP_LATENCY.labels(self.service, scope["method"], template).observe(seconds)
                log_request(
                    method=scope["method"],
                    route=route,
                    path=scope["path"],
                    status=status,
                    seconds=seconds,
                    client_id=_client_of(scope),
                )
                if request_span.is_recording():
                    request_span.update_name(f"{scope['method']} {route or scope['path']}")
                    request_span.set_attributes(
                        {
                            "http.request.method": scope["method"],
                            "http.route": template,
                            "url.path": scope["path"],
                            "http.response.status_code": status,
                        }
                    )
                structlog.contextvars.unbind_contextvars("request_id")
                request_id_var.reset(token_rid)
                current_language.reset(token_lang)


def _client_of(scope: Scope) -> str | None:
    """The OAuth client of a verified token: a service's auth dependency keeps the principal, the
    gateway's proxy the client id it verified."""
    state = scope.get("state") or {}
    principal = state.get("principal")
    client_id = state.get("client_id") or getattr(principal, "client_id", None)
    return client_id if isinstance(client_id, str) else None


class QueryTextMiddleware:
    """A query parameter holding a control character (a NUL above all: PostgreSQL cannot even
    compare text with it) or half a character is refused with 422 before any handler sees it — no
    such value can name anything we store."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if raw:
            bad = [
                name
                for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
                if has_control(value) or has_control(name)
            ]
            if bad:
                response = problem(
                    422,
                    code=ErrorCode.VALIDATION_FAILED,
                    detail=text(
                        "查询参数含有控制字符或无效字符", "A query parameter holds a control or invalid character"
                    ),
                    errors=[
                        FieldError(name[:100], text("含有控制字符或无效字符", "contains control or invalid characters"))
                        for name in bad[:20]
                    ],
                    instance=scope["path"],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ContentTypeMiddleware:
    """Writes carry JSON unless the route says otherwise (uploads, CSV import): anything else is 415
    before a handler sees it."""

    def __init__(self, app: ASGIApp, *, non_json_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.non_json = [re.compile(p) for p in non_json_paths]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"].encode() in BODY_METHODS:
            headers = dict(scope.get("headers") or [])
            ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
            path = scope["path"]
            json_body = ctype == "application/json" or ctype.endswith("+json")
            if has_body and not json_body and not any(p.search(path) for p in self.non_json):
                response = problem(
                    415,
                    code=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    detail=text("请求体须为 application/json", "The request body must be application/json"),
                    instance=path,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# --- ETag / If-Match -------------------------------------------------------------------------
def stored_file(path: object, *, content_type: str, download_name: str, sha256: str) -> FileResponse:
    """A stored upload (an attachment, a filing document) served to a reader: its own type, never
    sniffed, downloaded rather than shown, cached privately by its content hash."""
    return FileResponse(
        path,  # type: ignore[arg-type]
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{download_name}"',
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{sha256}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


def etag_of(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


V = TypeVar("V")


def with_etag(response: Response, entity: V) -> V:
    """Answer ``entity`` with its ``version`` as the ETag (SPEC §5)."""
    set_etag(response, entity.version)  # type: ignore[attr-defined]
    return entity


@dataclass(frozen=True)
class Precondition:
    """The request's ``If-Match`` (SPEC §5): ``check`` answers 412 when it names another version
    (``*`` always matches; no header, no check)."""

    header: str | None = None

    @property
    def present(self) -> bool:
        return self.header is not None

    @property
    def names_version(self) -> bool:
        """The header names at least one version (``*`` matches any and so names none): what an
        action that must say which state it applies to requires (a signature, SPEC §9)."""
        if self.header is None:
            return False
        return any(c.strip().removeprefix("W/") not in ("", "*") for c in self.header.split(","))

    def matches(self, version: int) -> bool:
        if self.header is None:
            return True
        candidates = {c.strip().removeprefix("W/") for c in self.header.split(",")}
        return "*" in candidates or etag_of(version) in candidates

    def check(self, version: int) -> None:
        if not self.matches(version):
            raise PreconditionFailed(
                text(
                    "资源已被修改（版本不匹配），请重新获取后再试",
                    "The resource changed (version mismatch); fetch it again",
                ),
                extra={"current_version": version},
            )


def if_match(request: Request) -> Precondition:
    return Precondition(request.headers.get("if-match"))


IfMatch = Annotated[Precondition, Depends(if_match)]


def check_if_match(request: Request, version: int) -> None:
    """Transitional (pre-template services): ``IfMatch`` is the dependency to use."""
    if_match(request).check(version)


# ``town=`` on every list that takes ``district=`` (SPEC §22); checked against the jurisdiction
# data by ``shared.reference.area_filter`` (422 naming the field)
TownQuery = Annotated[
    str | None, Query(pattern=r"^\d{9,12}$", description="镇街代码 / a town code of the jurisdiction data")
]


# A pooled connection to one of our servers is dropped after this many idle seconds, before the server
# closes it (uvicorn keeps an idle connection 5 s): a request sent on a connection the server is just
# closing fails before any answer (seen as a 503 from the gateway in the one-hour soak, figure 14).
UPSTREAM_IDLE_SECONDS = 4.0
