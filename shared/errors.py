"""Domain errors and their rendering as RFC 9457 ``application/problem+json``.

Services raise ``DomainError`` subclasses below the API layer; the handlers installed by
``install_error_handlers`` turn them (and validation errors, malformed JSON, unknown routes and
anything unexpected) into problem documents. Nothing a client sends yields a 500: the generic 500
is for our own bugs, and it is logged with its request id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


class ErrorCode(StrEnum):
    """Every problem ``code`` the platform answers with (the ``code`` member, and the end of
    ``type``), snake_case as SPEC v2 spells them. A code's message below is the default ``detail``;
    a raise site may give a more specific one."""

    # protocol and plumbing
    BAD_REQUEST = "bad_request"
    MALFORMED_JSON = "malformed_json"
    UNAUTHORIZED = "unauthorized"
    TOKEN_REVOKED = "token_revoked"
    FORBIDDEN = "forbidden"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"
    PRECONDITION_FAILED = "precondition_failed"
    PRECONDITION_REQUIRED = "precondition_required"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"  # no representation the Accept header takes (一企一档: JSON, XLSX, PDF)
    VALIDATION_FAILED = "validation_failed"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"
    BAD_GATEWAY = "bad_gateway"
    SERVICE_UNAVAILABLE = "service_unavailable"
    BUSY = "busy"
    LENGTH_REQUIRED = "length-required"  # a body without a usable Content-Length (the gateway's proxy)  # the gateway's password hashing is at capacity
    DATABASE_UNAVAILABLE = "database_unavailable"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UNKNOWN_SERVICE = "unknown_service"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    IDEMPOTENCY_RESPONSE_LOST = "idempotency_response_lost"
    # identity (gateway)
    USERNAME_TAKEN = "username_taken"
    USCC_MISMATCH = "uscc_mismatch"
    ORGANISATION_EXISTS = "organisation_exists"
    ORGANISATION_UNVERIFIED = "organisation_unverified"
    INVITATION_INVALID = "invitation_invalid"
    ALREADY_ADMIN = "already_admin"
    ADMIN_CANNOT_LEAVE = "admin_cannot_leave"
    ACCOUNT_PROTECTED = "account_protected"
    CLIENT_PROTECTED = "client_protected"
    CURRENT_PASSWORD_WRONG = "current_password_wrong"
    NO_PASSWORD = "no_password"
    KEY_IN_USE = "key_in_use"
    # registry
    DUPLICATE_USCC = "duplicate_uscc"
    DOCUMENT_TYPE = "document_type"
    DOCUMENT_TOO_LARGE = "document_too_large"
    DOCUMENT_EMPTY = "document_empty"
    # attachments (audit, SPEC §16)
    ATTACHMENT_TYPE = "attachment_type"
    ATTACHMENT_MALFORMED = "attachment_malformed"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENT_EMPTY = "attachment_empty"
    QUOTA_EXCEEDED = "quota_exceeded"
    UNKNOWN_ATTACHMENT = "unknown_attachment"
    EVIDENCE_REQUIRED = "evidence_required"
    STAFF_EXCLUSIVE = "staff_exclusive"
    ENGINEER_UNDER_CONTRACT = "engineer_under_contract"
    REVIEW_OVERRIDE_COMMENT_REQUIRED = "review_override_comment_required"
    REVIEW_COMMENTS_REQUIRED = "review_comments_required"
    # enterprises
    ENTERPRISE_EXISTS = "enterprise_exists"
    BAD_CSV_HEADER = "bad_csv_header"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    BAD_XLSX = "bad_xlsx"
    UNKNOWN_DISTRICT = "unknown_district"
    # contracts
    ALREADY_SIGNED = "already_signed"
    AGENCY_NOT_APPROVED = "agency_not_approved"
    AGENCY_DISTRICT_NOT_SERVED = "agency_district_not_served"
    AGENCY_INDUSTRY_NOT_SERVED = "agency_industry_not_served"
    ENGINEER_NOT_REGISTERED = "engineer_not_registered"
    ENGINEER_AT_CAPACITY = "engineer_at_capacity"
    TERM_OUT_OF_POLICY = "term_out_of_policy"
    INSPECTION_BELOW_MINIMUM = "inspection_below_minimum"
    TERM_OVERLAPS = "term_overlaps"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    UNKNOWN_AGENCY = "unknown_agency"
    AGENCY_UNKNOWN = "agency_unknown"
    ENTERPRISE_UNKNOWN = "enterprise_unknown"
    # audit
    UNKNOWN_CONTRACT = "unknown_contract"
    CONTRACT_NOT_YOURS = "contract_not_yours"
    CONTRACT_NOT_ACTIVE = "contract_not_active"
    CONTRACT_AGENCY_MISMATCH = "contract_agency_mismatch"
    DUPLICATE_SERVICE_LOG = "duplicate_service_log"
    SAMPLE_EXISTS = "sample_exists"
    CONTACT_PHONE_REQUIRED = "contact_phone_required"
    COMMENTS_REQUIRED = "comments_required"
    VISIT_DATE_IN_FUTURE = "visit_date_in_future"
    VISIT_DATE_OUTSIDE_TERM = "visit_date_outside_term"
    VISIT_RECORDED_TOO_LATE = "visit_recorded_too_late"
    ENGINEER_NOT_ON_ROSTER = "engineer_not_on_roster"
    ITEM_NOT_IN_CONTRACT = "item_not_in_contract"
    HAZARD_DEADLINE_OUT_OF_POLICY = "hazard_deadline_out_of_policy"
    CREDIT_DELTA_SIGN = "credit_delta_sign"
    CREDIT_RECORD_EXISTS = "credit_record_exists"
    SUPERVISION_HAZARD_NOT_VERIFIED = "supervision_hazard_not_verified"
    SUPERVISION_DEADLINE_PAST = "supervision_deadline_past"
    COMPLAINT_NOT_HEARD = "complaint_not_heard"
    CREDIT_LISTING_EXISTS = "credit_listing_exists"
    OBJECTION_PERIOD_OVER = "objection_period_over"
    CREDIT_LISTED = "credit_listed"
    # notify
    WEBHOOK_URL_REFUSED = "webhook_url_refused"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    WEBHOOK_OWNER_REQUIRED = "webhook_owner_required"

    @property
    def message(self) -> Text:
        return MESSAGES.get(self, TITLES[400])


# Answers a retry may change with nothing changed by the client: a read model not yet in step
# with the bus (the agency, enterprise or contract is on its way), a busy system. An
# Idempotency-Key never keeps one of these as its answer (shared.idempotency).
RETRYABLE_CODES = frozenset(
    {
        ErrorCode.AGENCY_UNKNOWN,
        ErrorCode.ENTERPRISE_UNKNOWN,
        ErrorCode.UNKNOWN_AGENCY,
        ErrorCode.UNKNOWN_CONTRACT,
        ErrorCode.BUSY,
    }
)

MESSAGES: dict[ErrorCode, Text] = {
    ErrorCode.CONFLICT_OF_INTEREST: text(
        "该机构近期为该企业做过安全评价，不得承接其托管（利益冲突）",
        "The agency did a safety evaluation of the enterprise recently: it may not be its custodian",
    ),
    ErrorCode.BAD_REQUEST: text("请求无效", "Bad request"),
    ErrorCode.MALFORMED_JSON: text("请求体不是合法的 JSON", "The request body is not valid JSON"),
    ErrorCode.UNAUTHORIZED: text("缺少或无效的访问令牌", "Missing or invalid access token"),
    ErrorCode.TOKEN_REVOKED: text("访问令牌已被撤销", "The access token was revoked"),
    ErrorCode.FORBIDDEN: text("无权执行此操作", "You may not do this"),
    ErrorCode.INSUFFICIENT_SCOPE: text("令牌缺少所需的权限范围", "The token lacks the scope this needs"),
    ErrorCode.NOT_FOUND: text("资源不存在", "Not found"),
    ErrorCode.METHOD_NOT_ALLOWED: text("不支持该请求方法", "Method not allowed"),
    ErrorCode.CONFLICT: text("与当前状态冲突", "Conflicts with the current state"),
    ErrorCode.INVALID_TRANSITION: text("当前状态不允许该操作", "The current state does not allow this"),
    ErrorCode.PRECONDITION_FAILED: text(
        "资源已被修改（版本不匹配），请重新获取后再试", "The resource changed (version mismatch); fetch it again"
    ),
    ErrorCode.PRECONDITION_REQUIRED: text(
        "此操作须以 If-Match 指明所针对的版本", "This needs If-Match naming the version it applies to"
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: text("请求体过大", "Payload too large"),
    ErrorCode.BAD_XLSX: text("文件不是可读取的 XLSX 工作簿", "The file is not a readable XLSX workbook"),
    ErrorCode.NOT_ACCEPTABLE: text("无法提供所请求的格式", "None of the requested formats can be produced"),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: text("请求体须为 application/json", "The request body must be application/json"),
    ErrorCode.VALIDATION_FAILED: text("请求数据未通过校验", "The request did not pass validation"),
    ErrorCode.RATE_LIMITED: text("请求过于频繁，请稍后再试", "Too many requests; try again later"),
    ErrorCode.INTERNAL_ERROR: text(
        "服务器内部错误，已记录，请联系运维并提供请求编号", "Internal error; it was logged — quote the request id"
    ),
    ErrorCode.BAD_GATEWAY: text("上游服务响应异常", "Bad gateway"),
    ErrorCode.SERVICE_UNAVAILABLE: text(
        "依赖的服务暂不可用，请稍后重试", "A service this needs is unavailable; retry shortly"
    ),
    ErrorCode.LENGTH_REQUIRED: text("Content-Length 无效", "Invalid Content-Length"),
    ErrorCode.BUSY: text("系统繁忙，请稍后重试", "The system is busy; retry shortly"),
    ErrorCode.DATABASE_UNAVAILABLE: text("数据库暂不可用，请稍后重试", "The database is unavailable; retry shortly"),
    ErrorCode.UPSTREAM_TIMEOUT: text("上游服务超时", "The upstream service timed out"),
    ErrorCode.UNKNOWN_SERVICE: text("没有这个服务", "No such service"),
    ErrorCode.INVALID_IDEMPOTENCY_KEY: text(
        "Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters"
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: text(
        "该 Idempotency-Key 已用于另一个不同的请求", "This Idempotency-Key was used for a different request"
    ),
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: text(
        "使用该 Idempotency-Key 的请求仍在处理中", "A request with this Idempotency-Key is still in progress"
    ),
    ErrorCode.IDEMPOTENCY_RESPONSE_LOST: text(
        "该请求已执行，但其响应在故障中丢失；请查询结果",
        "The request was applied, but its response was lost in a crash; look the result up",
    ),
    ErrorCode.CREDIT_DELTA_SIGN: text(
        "违规记录的分值须为负数，表彰记录的分值须为正数",
        "A violation's delta must be negative and a commendation's positive",
    ),
    ErrorCode.CREDIT_RECORD_EXISTS: text(
        "该机构已有同一文号的同类诚信记录", "This agency already has a credit record of this kind with this reference"
    ),
    ErrorCode.COMPLAINT_NOT_HEARD: text(
        "投诉须先通报机构，且机构已答复或答复已逾期，方可认定属实",
        "A complaint can be upheld only after it was forwarded to the agency and the agency responded or its "
        "response is overdue",
    ),
    ErrorCode.SUPERVISION_HAZARD_NOT_VERIFIED: text(
        "重大隐患须经验收（机构复核或监管部门核查）后方可销号",
        "A supervision case can be closed only after its hazard is verified (by the agency or the bureau)",
    ),
    ErrorCode.SUPERVISION_DEADLINE_PAST: text(
        "挂牌督办的整改期限不能早于今天",
        "The listed deadline must not be in the past",
    ),
    ErrorCode.CREDIT_LISTING_EXISTS: text(
        "该组织已在严重失信名单程序中（告知、异议或列入期间）",
        "This organisation already has a serious-dishonesty listing under way or in force",
    ),
    ErrorCode.OBJECTION_PERIOD_OVER: text("异议期已过", "The objection period is over"),
    ErrorCode.CREDIT_LISTED: text(
        "该机构已被列入严重失信名单，不得签订新的托管合同",
        "The agency is on the serious-dishonesty list and may not enter new contracts",
    ),
    ErrorCode.WEBHOOK_URL_REFUSED: text(
        "不接受该回调地址（生产环境须为 https，且不得指向本机、内网或链路本地地址）",
        "The webhook URL is refused (outside development it must be https and must not resolve to a loopback, "
        "private or link-local address)",
    ),
    ErrorCode.UNKNOWN_EVENT_TYPE: text("未知的事件类型", "Unknown event type"),
    ErrorCode.WEBHOOK_OWNER_REQUIRED: text(
        "只有机构账户、监管部门账户或管理员可以订阅回调",
        "Only an organisation, a bureau account or admin may own webhooks",
    ),
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: Text | str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": render(self.message) or ""}


class DomainError(Exception):
    status: int = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(
        self,
        detail: Text | str | None = None,
        *,
        code: ErrorCode | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = ErrorCode(code)
        self.detail = detail if detail is not None else self.code.message
        super().__init__(render(self.detail, "en"))
        self.errors = list(errors)
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(DomainError):
    status, code = 400, ErrorCode.BAD_REQUEST


class Unauthorized(DomainError):
    status, code = 401, ErrorCode.UNAUTHORIZED

    def __init__(self, detail: Text | str | None = None, *, error: str = "invalid_token", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": f'Bearer error="{error}"'})
        super().__init__(detail, **kw)


class Forbidden(DomainError):
    status, code = 403, ErrorCode.FORBIDDEN


class NotFound(DomainError):
    status, code = 404, ErrorCode.NOT_FOUND


class Conflict(DomainError):
    status, code = 409, ErrorCode.CONFLICT


class InvalidTransition(Conflict):
    """409 for an action the entity's state machine does not allow in its state (shared.states
    builds the text, naming the entity, the state and the action in each language)."""

    code = ErrorCode.INVALID_TRANSITION

    def __init__(self, detail: Text, *, current: str, action: str) -> None:
        super().__init__(detail, extra={"current_status": current, "action": action})


class PreconditionFailed(DomainError):
    status, code = 412, ErrorCode.PRECONDITION_FAILED


class PreconditionRequired(DomainError):
    status, code = 428, ErrorCode.PRECONDITION_REQUIRED


class PayloadTooLarge(DomainError):
    status, code = 413, ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(DomainError):
    status, code = 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE


class NotAcceptable(DomainError):
    status, code = 406, ErrorCode.NOT_ACCEPTABLE


class ValidationFailed(DomainError):
    """422: a rule the input breaks; ``code`` names the rule."""

    status, code = 422, ErrorCode.VALIDATION_FAILED


class TooManyRequests(DomainError):
    status, code = 429, ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: int, detail: Text | str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class ServiceUnavailable(DomainError):
    status, code = 503, ErrorCode.SERVICE_UNAVAILABLE


def problem(
    status: int,
    *,
    code: ErrorCode | None = None,
    detail: Text | str | None = None,
    errors: Sequence[FieldError] = (),
    request_id: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    code = ErrorCode(code) if code is not None else STATUS_CODES.get(status, ErrorCode.BAD_REQUEST)
    body: dict[str, Any] = {
        "type": f"urn:custody:problem:{code}",
        "title": render(TITLES.get(status, TITLES[500 if status >= 500 else 400])),
        "status": status,
        "detail": render(detail) or render(TITLES.get(status, TITLES[400])),
    }
    body["code"] = str(code)
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    409: ErrorCode.CONFLICT,
    412: ErrorCode.PRECONDITION_FAILED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_FAILED,
    428: ErrorCode.PRECONDITION_REQUIRED,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.INTERNAL_ERROR,
    502: ErrorCode.BAD_GATEWAY,
    503: ErrorCode.SERVICE_UNAVAILABLE,
    504: ErrorCode.UPSTREAM_TIMEOUT,
}


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
                code=ErrorCode.MALFORMED_JSON,
                detail=text("请求体不是合法的 JSON", "The request body is not valid JSON"),
                request_id=_request_id(request),
                instance=request.url.path,
            )
        return problem(
            422,
            code=ErrorCode.VALIDATION_FAILED,
            detail=text("请求数据未通过校验", "The request did not pass validation"),
            errors=field_errors_from_pydantic(raw),
            request_id=_request_id(request),
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed")
            else None
        )
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
            log.warning(
                "request.database_unavailable",
                path=request.url.path,
                error=str(exc)[:300],
                request_id=_request_id(request),
            )
            return problem(
                503,
                code=ErrorCode.DATABASE_UNAVAILABLE,
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
            code=ErrorCode.INTERNAL_ERROR,
            detail=text(
                "服务器内部错误，已记录，请联系运维并提供请求编号",
                "Internal error; it was logged — quote the request id",
            ),
            request_id=_request_id(request),
        )


__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "ErrorCode",
    "FieldError",
    "Forbidden",
    "InvalidTransition",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "current_language",
    "install_error_handlers",
    "problem",
]
