"""Domain errors and their rendering as RFC 9457 ``application/problem+json``.

Services raise ``DomainError`` subclasses below the API layer; the handlers installed by
``install_error_handlers`` turn them (and validation errors, malformed JSON, unknown routes and
anything unexpected) into problem documents. Nothing a client sends yields a 500: the generic 500
is for our own bugs, and it is logged with its request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.i18n import Text, current_language, negotiate, render, text

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("shared.errors")

TITLES: dict[int, Text] = {
    400: text("请求无效", "Bad request"),
    401: text("需要身份认证", "Authentication required"),
    403: text("无权执行此操作", "Forbidden"),
    404: text("资源不存在", "Not found"),
    405: text("不支持该请求方法", "Method not allowed"),
    409: text("状态冲突", "Conflict"),
    412: text("版本不匹配", "Precondition failed"),
    413: text("请求体过大", "Payload too large"),
    415: text("不支持的内容类型", "Unsupported media type"),
    422: text("数据校验失败", "Validation failed"),
    428: text("缺少前置条件", "Precondition required"),
    429: text("请求过于频繁", "Too many requests"),
    500: text("服务器内部错误", "Internal server error"),
    502: text("上游服务响应异常", "Bad gateway"),
    503: text("依赖的服务暂不可用", "Service unavailable"),
    504: text("上游服务超时", "Gateway timeout"),
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: Text | str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": render(self.message) or ""}


class DomainError(Exception):
    status: int = 400
    code: str = "bad-request"

    def __init__(
        self,
        detail: Text | str | None = None,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(render(detail, "en") if detail else self.code)
        self.detail = detail
        if code:
            self.code = code
        self.errors = list(errors)
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(DomainError):
    status, code = 400, "bad-request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: Text | str | None = None, *, error: str = "invalid_token", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": f'Bearer error="{error}"'})
        super().__init__(detail or text("缺少或无效的访问令牌", "Missing or invalid access token"), **kw)


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not-found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class InvalidTransition(Conflict):
    code = "invalid-transition"

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(
            text(f"{entity}当前状态为 {current}，不能执行 {action}", f"{entity} is {current}; cannot {action}"),
            extra={"current_status": current, "action": action},
        )


class PreconditionFailed(DomainError):
    status, code = 412, "precondition-failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload-too-large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported-media-type"


class ValidationFailed(DomainError):
    """422: a rule the input breaks; ``code`` names the rule."""

    status, code = 422, "validation-failed"


class TooManyRequests(DomainError):
    status, code = 429, "rate-limited"

    def __init__(self, retry_after: int, detail: Text | str | None = None) -> None:
        super().__init__(
            detail or text("请求过于频繁，请稍后再试", "Too many requests; try again later"),
            headers={"Retry-After": str(max(1, int(retry_after)))},
        )


class ServiceUnavailable(DomainError):
    status, code = 503, "service-unavailable"


def problem(
    status: int,
    *,
    code: str | None = None,
    detail: Text | str | None = None,
    errors: Sequence[FieldError] = (),
    request_id: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:custody:problem:{code or TITLES.get(status, TITLES[400]).en.lower().replace(' ', '-')}",
        "title": render(TITLES.get(status, TITLES[500 if status >= 500 else 400])),
        "status": status,
        "detail": render(detail) or render(TITLES.get(status, TITLES[400])),
    }
    if code:
        body["code"] = code
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None) or request.headers.get("x-request-id")


PYDANTIC_MESSAGES: dict[str, Text] = {
    "missing": text("必填字段缺失", "Field required"),
    "string_too_short": text("内容过短或为空", "Too short or empty"),
    "string_too_long": text("内容过长", "Too long"),
    "string_type": text("应为字符串", "Must be a string"),
    "int_type": text("应为整数", "Must be an integer"),
    "int_parsing": text("应为整数", "Must be an integer"),
    "bool_type": text("应为布尔值", "Must be true or false"),
    "bool_parsing": text("应为布尔值", "Must be true or false"),
    "list_type": text("应为数组", "Must be a list"),
    "dict_type": text("应为对象", "Must be an object"),
    "model_attributes_type": text("应为对象", "Must be an object"),
    "enum": text("取值不在允许范围内", "Not one of the allowed values"),
    "literal_error": text("取值不在允许范围内", "Not one of the allowed values"),
    "date_from_datetime_parsing": text("日期格式无效（应为 YYYY-MM-DD）", "Invalid date (YYYY-MM-DD)"),
    "date_parsing": text("日期格式无效（应为 YYYY-MM-DD）", "Invalid date (YYYY-MM-DD)"),
    "date_type": text("日期格式无效（应为 YYYY-MM-DD）", "Invalid date (YYYY-MM-DD)"),
    "uuid_parsing": text("应为 UUID", "Must be a UUID"),
    "uuid_type": text("应为 UUID", "Must be a UUID"),
    "greater_than_equal": text("数值过小", "Value too small"),
    "less_than_equal": text("数值过大", "Value too large"),
    "greater_than": text("数值过小", "Value too small"),
    "less_than": text("数值过大", "Value too large"),
    "extra_forbidden": text("不允许的字段", "Unknown field"),
    "value_error": text("取值无效", "Invalid value"),
    "float_parsing": text("应为数字", "Must be a number"),
    "float_type": text("应为数字", "Must be a number"),
    "decimal_parsing": text("应为数字", "Must be a number"),
    "finite_number": text("应为有限数字", "Must be a finite number"),
}


def field_errors_from_pydantic(errors: Sequence[dict[str, Any]]) -> list[FieldError]:
    result = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        message: Text | str = PYDANTIC_MESSAGES.get(err.get("type", ""), err.get("msg", "invalid"))
        if err.get("type") == "value_error" and err.get("msg"):
            raw = str(err["msg"]).removeprefix("Value error, ")
            message = text(raw, raw)
        result.append(FieldError(".".join(loc) or "body", message))
    return result


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return problem(
            exc.status,
            code=exc.code,
            detail=exc.detail,
            errors=exc.errors,
            request_id=_request_id(request),
            instance=request.url.path,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        raw = exc.errors()
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem(
                400,
                code="malformed-json",
                detail=text("请求体不是合法的 JSON", "The request body is not valid JSON"),
                request_id=_request_id(request),
                instance=request.url.path,
            )
        return problem(
            422,
            code="validation-failed",
            detail=text("请求数据未通过校验", "The request did not pass validation"),
            errors=field_errors_from_pydantic(raw),
            request_id=_request_id(request),
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") else None
        return problem(
            exc.status_code,
            detail=detail,
            request_id=_request_id(request),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        from shared.db import database_unavailable

        if database_unavailable(exc):  # restarting, unreachable, locked: retry later, not a bug
            log.warning("request.database_unavailable", path=request.url.path, error=str(exc)[:300],
                        request_id=_request_id(request))
            return problem(
                503,
                code="database-unavailable",
                detail=text("数据库暂不可用，请稍后重试", "The database is unavailable; retry shortly"),
                request_id=_request_id(request),
                instance=request.url.path,
                headers={"Retry-After": "1"},
            )
        # Runs outside the request-context middleware: pick the language again.
        current_language.set(negotiate(request.headers.get("accept-language")))
        log.exception("request.unhandled_error", path=request.url.path, request_id=_request_id(request))
        return problem(
            500,
            code="internal-error",
            detail=text("服务器内部错误，已记录，请联系运维并提供请求编号", "Internal error; it was logged — quote the request id"),
            request_id=_request_id(request),
        )


__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "InvalidTransition",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "current_language",
    "install_error_handlers",
    "problem",
]
