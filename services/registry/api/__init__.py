"""HTTP API of the registry: policy, agency filing and review, documents, the public directory.
Routes only: parse, call one use case, declare the response."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.types import Message

from services.registry import service
from services.registry.api import changes, directory_counts, rendered
from services.registry.api.policy import directory_version
from services.registry.api.policy import router as policy_router
from services.registry.models import Agency, AgencyDocument, AgencyEngagement
from services.registry.repository import DirectoryFilters
from services.registry.schemas import (
    AgencyCreate,
    AgencyPublic,
    AgencyRead,
    AgencyUpdate,
    DirectoryAgencyRead,
    DirectoryChangeRead,
    DirectoryItem,
    DocumentOut,
    EngagementCreate,
    EngagementRead,
    ReasonIn,
    RenewalIn,
    ReviewIn,
)
from services.registry.service.directory import CSV_FILENAME, CSV_HEADER
from services.registry.service.documents import MAX_DOCUMENT_BYTES, MULTIPART_OVERHEAD, too_large
from services.registry.service.filing import PublicProfile
from services.registry.states import REGULATORY_ACTS, AgencyStatus
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal, PendingOrgPrincipal
from shared.conditional import conditional
from shared.counts import Counts, by_param
from shared.errors import FieldError, UnsupportedMediaType, ValidationFailed
from shared.http import IfMatch, stored_file, with_etag
from shared.i18n import text
from shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, PageParams, page_params
from shared.reference import Industry, load_jurisdiction
from shared.states import Action

DOCUMENTS_PATH = r"^/api/v1/agencies/[^/]+/documents$"
ATOM_TYPE = "application/atom+xml"
KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

agencies = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])
public = APIRouter(prefix="/api/v1/directory", tags=["directory"])


def _district(value: str | None, field: str) -> str | None:
    if value is not None and not load_jurisdiction().is_district(value):
        raise ValidationFailed(
            text("未知的区县代码", "Unknown district code"),
            errors=[FieldError(field, text("未知的区县代码", "unknown district code"))],
        )
    return value


def _since(value: str | None) -> datetime | None:
    """``since`` of the list's history: an ISO date (its start, UTC) or an RFC 3339 time."""
    if value is None:
        return None
    try:
        parsed = (
            datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
            if len(value) == 10
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
        if parsed.tzinfo is None:
            raise ValueError("no time zone")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a zone moving the time past year 9999
        raise ValidationFailed(
            text(
                "since 须为 ISO 日期或带时区的 RFC 3339 时间",
                "since must be an ISO date or an RFC 3339 time with a zone",
            ),
            errors=[FieldError("since", text("格式无效", "invalid format"))],
        ) from None


Since = Annotated[str | None, Query(max_length=40, description="起始日期或时间 / from (ISO date or RFC 3339)")]


# --- agencies -----------------------------------------------------------------------------------
@agencies.post("", status_code=201, response_model=AgencyRead, summary="创建机构备案（草稿）/ create a filing")
async def create_agency(body: AgencyCreate, uow: UoW, _: PendingOrgPrincipal, response: Response) -> Agency:
    agency = await service.create_agency(uow, data=body)
    response.headers["Location"] = f"/api/v1/agencies/{agency.id}"
    return with_etag(response, agency)


@agencies.get("", response_model=Page[AgencyRead], summary="机构备案列表 / list filings")
async def list_agencies(
    uow: UoW,
    _: CurrentPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    status: AgencyStatus | None = None,
    district: Annotated[str | None, Query(max_length=12)] = None,
    noncompliant: Annotated[
        bool | None, Query(description="只列人员配备不达标的机构 / only those below the staffing minimums (§18)")
    ] = None,
) -> Page[AgencyRead]:
    items, cursor = await service.list_agencies(
        uow, status=status, district=_district(district, "district"), noncompliant=noncompliant, params=params
    )
    return Page[AgencyRead](items=[AgencyRead.model_validate(a) for a in items], next_cursor=cursor)


@agencies.get("/counts", response_model=Counts, summary="机构备案计数 / count filings by district and status")
async def count_agencies(
    uow: UoW,
    _: CurrentPrincipal,
    by: Annotated[list[str], Depends(by_param("district", "status"))],
    status: AgencyStatus | None = None,
    district: Annotated[str | None, Query(max_length=12)] = None,
    noncompliant: bool | None = None,
    valid_until_before: date | None = None,
) -> Counts:
    return await service.count_agencies(
        uow,
        by=by,
        status=status,
        district=_district(district, "district"),
        noncompliant=noncompliant,
        valid_until_before=valid_until_before,
    )


# Whom the record is for decides its shape: the full record first, the public profile otherwise.
AgencyRecord = Annotated[AgencyRead | AgencyPublic, Field(union_mode="left_to_right")]


@agencies.get("/{agency_id}", response_model=AgencyRecord, summary="机构备案详情 / a filing")
async def get_agency(agency_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> Agency | PublicProfile:
    return with_etag(response, await service.get_agency(uow, agency_id=agency_id))


@agencies.patch("/{agency_id}", response_model=AgencyRead, summary="修改备案（草稿或待补正）/ edit a filing")
async def update_agency(
    agency_id: uuid.UUID, body: AgencyUpdate, uow: UoW, _: PendingOrgPrincipal, if_match: IfMatch, response: Response
) -> Agency:
    return with_etag(response, await service.update_agency(uow, agency_id=agency_id, data=body, if_match=if_match))


@agencies.post(
    "/{agency_id}/engagements",
    status_code=201,
    response_model=EngagementRead,
    summary="申报与企业的其他业务往来（安全评价、检测、咨询、培训）/ declare other work for an enterprise",
)
async def declare_engagement(
    agency_id: uuid.UUID, body: EngagementCreate, uow: UoW, _: CurrentPrincipal
) -> AgencyEngagement:
    return await service.declare(uow, agency_id=agency_id, body=body)


@agencies.get(
    "/{agency_id}/engagements",
    response_model=list[EngagementRead],
    summary="机构申报的业务往来 / the agency's declared engagements",
)
async def list_engagements(agency_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> list[AgencyEngagement]:
    return await service.list_engagements(uow, agency_id=agency_id)


@agencies.post(
    "/{agency_id}/documents",
    status_code=201,
    response_model=DocumentOut,
    summary="上传备案材料（PDF/PNG/JPEG，≤10 MiB）/ upload a document",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "kind"],
                        "properties": {"file": {"type": "string", "format": "binary"}, "kind": {"type": "string"}},
                    },
                    "example": {"kind": "business_license", "file": "(PDF, PNG or JPEG bytes)"},
                }
            }
        }
    },
)
async def upload_document(
    agency_id: uuid.UUID, request: Request, uow: UoW, _: PendingOrgPrincipal, if_match: IfMatch
) -> AgencyDocument:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType(
            text(
                "请以 multipart/form-data 上传（字段 file 与 kind）",
                "Upload as multipart/form-data (fields file and kind)",
            )
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD:
        raise too_large()
    await service.authorize_upload(uow, agency_id=agency_id)
    form = await _limited(request).form(max_files=1, max_fields=4)
    try:
        upload, kind = form.get("file"), form.get("kind")
        errors = []
        if not isinstance(upload, UploadFile):
            errors.append(FieldError("file", text("缺少文件", "a file is required")))
        if not isinstance(kind, str) or not KIND.match(kind.strip()):
            errors.append(
                FieldError(
                    "kind",
                    text(
                        "材料类型须为小写字母、数字或下划线（如 business_license）",
                        "lower-case letters, digits or _ (e.g. business_license)",
                    ),
                )
            )
        if errors:
            raise ValidationFailed(text("上传内容不完整", "The upload is incomplete"), errors=errors)
        assert isinstance(upload, UploadFile)
        assert isinstance(kind, str)
        return await service.add_document(
            uow,
            agency_id=agency_id,
            kind=kind.strip(),
            filename=(upload.filename or "")[:255] or None,
            content=upload,
            if_match=if_match,
        )
    finally:
        await form.close()


def _limited(request: Request) -> Request:
    """The same request, whose body stops being read once it passes the upload limit."""
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD:
                raise too_large()
        return message

    return Request(request.scope, receive)


@agencies.get(
    "/{agency_id}/documents/{document_id}",
    summary="下载备案材料 / download a document",
    responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
)
async def download_document(agency_id: uuid.UUID, document_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Response:
    content = await service.document_for_download(uow, agency_id=agency_id, document_id=document_id)
    document = content.document
    return stored_file(
        content.path, content_type=document.content_type, download_name=content.download_name, sha256=document.sha256
    )


@agencies.post("/{agency_id}/submit", response_model=AgencyRead, summary="提交备案或续期（自动检查）/ submit or renew")
async def submit(
    agency_id: uuid.UUID,
    uow: UoW,
    _: PendingOrgPrincipal,
    if_match: IfMatch,
    response: Response,
    body: RenewalIn | None = None,
) -> Agency:
    return with_etag(response, await service.submit(uow, agency_id=agency_id, if_match=if_match, body=body))


@agencies.post("/{agency_id}/review", response_model=AgencyRead, summary="审核备案 / review")
async def review(
    agency_id: uuid.UUID, body: ReviewIn, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> Agency:
    return with_etag(
        response,
        await service.review(
            uow, agency_id=agency_id, decision=body.decision, comments=body.comments, if_match=if_match
        ),
    )


def _regulatory(action: Action, summary: str) -> None:
    """One route per regulatory act of the state machine (suspend, reinstate, revoke)."""

    @agencies.post(
        f"/{{agency_id}}/{action.name}", response_model=AgencyRead, summary=summary, name=f"{action.name}_agency"
    )
    async def act(
        agency_id: uuid.UUID, body: ReasonIn, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
    ) -> Agency:
        return with_etag(
            response,
            await service.regulate(uow, agency_id=agency_id, action=action, reason=body.reason, if_match=if_match),
        )


for _act, _summary in zip(
    REGULATORY_ACTS, ("暂停备案 / suspend", "恢复备案 / reinstate", "撤销备案 / revoke"), strict=True
):
    _regulatory(_act, _summary)


# --- the public directory -----------------------------------------------------------------------
@public.get(
    "/agencies",
    response_model=Page[DirectoryItem],
    summary="已备案机构公示名单（公开；Accept: text/csv 导出）/ the public directory",
    responses={200: {"content": {"text/csv": {}}}},
)
async def directory_agencies(
    request: Request,
    uow: UoW,
    params: Annotated[PageParams, Depends(page_params)],
    district: Annotated[str | None, Query(max_length=12, description="服务区县代码")] = None,
    industry: Industry | None = None,
    grade: Literal["A", "B", "C", "D"] | None = None,
    q: Annotated[str | None, Query(max_length=100, description="名称关键字")] = None,
) -> Any:
    filters = DirectoryFilters(
        district=_district(district, "district"),
        industry=str(industry) if industry else None,
        grade=grade,
        q=(q or "").strip() or None,
    )
    if exports.wants_csv(request.headers.get("accept")):
        rows = await service.export_directory(uow, filters=filters)
        return exports.csv_response(CSV_HEADER, rows, filename=CSV_FILENAME)
    render = functools.partial(rendered.directory_page, uow, filters=filters, params=params)
    # the CSV is another representation of the same URL: a shared cache must tell them apart
    return await conditional(request, version=await directory_version(uow), render=render, vary="Accept")


@public.get(
    "/agencies/{agency_id}",
    response_model=DirectoryAgencyRead,
    summary="公示机构详情（公开）/ a listed agency's public detail",
)
async def directory_agency(agency_id: uuid.UUID, uow: UoW, request: Request) -> Any:
    render = functools.partial(rendered.directory_detail, uow, agency_id=agency_id)
    return await conditional(request, version=await directory_version(uow), render=render)


@public.get(
    "/changes",
    response_model=Page[DirectoryChangeRead],
    summary="公示名单变更记录（公开）/ the public list's history",
)
async def directory_changes(
    uow: UoW,
    params: Annotated[PageParams, Depends(page_params)],
    since: Since = None,
    agency_id: uuid.UUID | None = None,
) -> Page[DirectoryChangeRead]:
    items, cursor = await service.directory_changes(uow, since=_since(since), agency_id=agency_id, params=params)
    return Page[DirectoryChangeRead](items=[DirectoryChangeRead.model_validate(i) for i in items], next_cursor=cursor)


@public.get(
    "/changes.atom",
    response_class=Response,
    summary="公示名单变更记录 Atom 订阅（公开）/ the public list's history as an Atom feed",
    responses={200: {"content": {ATOM_TYPE: {}}}},
)
async def directory_feed(
    uow: UoW,
    since: Since = None,
    agency_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="最新的若干条 / the newest n")] = DEFAULT_LIMIT,
) -> Response:
    document = await service.directory_feed(uow, since=_since(since), agency_id=agency_id, limit=limit)
    return Response(document, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


ROUTERS = [policy_router, agencies, changes.router, directory_counts.router, public]
