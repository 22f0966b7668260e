"""HTTP API of the registry: policy, agency filing and review, documents, the public directory."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import UploadFile

from shared.app import Ctx
from shared.auth import CurrentPrincipal, PendingOrgPrincipal
from shared.errors import FieldError, NotFound, UnsupportedMediaType, ValidationFailed
from shared.http import check_if_match, set_etag
from shared.i18n import current_language, text
from shared.pagination import Page, PageParams, page_params
from shared.reference import INDUSTRY_NAMES, Industry, load_jurisdiction

from services.registry import directory, service, transitions
from services.registry.documents import MAX_DOCUMENT_BYTES, MULTIPART_OVERHEAD, document_path, store, too_large
from services.registry.schemas import (AgencyCreate, AgencyPublic, AgencyRead, AgencyUpdate, DirectoryItem, DocumentOut,
                                       ReasonIn, ReviewIn)

DOCUMENTS_PATH = r"^/api/v1/agencies/[^/]+/documents$"
KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
Status = Literal["draft", "submitted", "approved", "rejected", "needs_more_info", "suspended", "revoked", "expired"]

policy_router = APIRouter(tags=["policy"])
agencies = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])
public = APIRouter(prefix="/api/v1/directory", tags=["directory"])


def _district(value: str | None, field: str) -> str | None:
    if value is not None and not load_jurisdiction().is_district(value):
        raise ValidationFailed(text("未知的区县代码", "Unknown district code"),
                               errors=[FieldError(field, text("未知的区县代码", "unknown district code"))])
    return value


def _precondition(request: Request):  # noqa: ANN202
    return lambda version: check_if_match(request, version)


def _with_etag(model: AgencyRead | AgencyPublic, status_code: int = 200, **headers: str) -> Response:
    response = JSONResponse(model.model_dump(mode="json"), status_code=status_code, headers=headers or None)
    set_etag(response, model.version)
    return response


# --- policy -------------------------------------------------------------------------------------
@policy_router.get("/api/v1/policy", summary="现行实施方案参数 / the policy in force")
async def get_policy(ctx: Ctx) -> dict[str, Any]:
    return ctx.policy.model_dump(mode="json")


# --- agencies -----------------------------------------------------------------------------------
@agencies.post("", status_code=201, response_model=AgencyRead, summary="创建机构备案（草稿）/ create a filing")
async def create_agency(body: AgencyCreate, ctx: Ctx, principal: PendingOrgPrincipal) -> Response:
    record = await service.create_agency(ctx, principal=principal, data=body)
    return _with_etag(record, 201, Location=f"/api/v1/agencies/{record.id}")


@agencies.get("", response_model=Page[AgencyRead], summary="机构备案列表 / list filings")
async def list_agencies(ctx: Ctx, principal: CurrentPrincipal, params: Annotated[PageParams, Depends(page_params)],
                        status: Status | None = None, district: Annotated[str | None, Query(max_length=12)] = None) -> Page[AgencyRead]:
    items, cursor = await service.list_agencies(ctx, principal=principal, status=status,
                                                district=_district(district, "district"), params=params)
    return Page[AgencyRead](items=items, next_cursor=cursor)


@agencies.get("/{agency_id}", response_model=AgencyRead | AgencyPublic, summary="机构备案详情 / a filing")
async def get_agency(agency_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    return _with_etag(await service.get_agency(ctx, principal=principal, agency_id=agency_id))


@agencies.patch("/{agency_id}", response_model=AgencyRead, summary="修改备案（草稿或待补正）/ edit a filing")
async def update_agency(agency_id: uuid.UUID, body: AgencyUpdate, request: Request, ctx: Ctx,
                        principal: PendingOrgPrincipal) -> Response:
    return _with_etag(await service.update_agency(ctx, principal=principal, agency_id=agency_id, data=body,
                                                  precondition=_precondition(request)))


@agencies.post("/{agency_id}/documents", status_code=201, response_model=DocumentOut,
               summary="上传备案材料（PDF/PNG/JPEG，≤10 MiB）/ upload a document",
               openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                   "type": "object", "required": ["file", "kind"],
                   "properties": {"file": {"type": "string", "format": "binary"}, "kind": {"type": "string"}}}}}}})
async def upload_document(agency_id: uuid.UUID, request: Request, ctx: Ctx, principal: PendingOrgPrincipal) -> DocumentOut:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType(text("请以 multipart/form-data 上传（字段 file 与 kind）",
                                        "Upload as multipart/form-data (fields file and kind)"))
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD:
        raise too_large()
    await service.authorize_upload(ctx, principal=principal, agency_id=agency_id)
    form = await _limited(request).form(max_files=1, max_fields=4)
    try:
        upload, kind = form.get("file"), form.get("kind")
        errors = []
        if not isinstance(upload, UploadFile):
            errors.append(FieldError("file", text("缺少文件", "a file is required")))
        if not isinstance(kind, str) or not KIND.match(kind.strip()):
            errors.append(FieldError("kind", text("材料类型须为小写字母、数字或下划线（如 business_license）",
                                                  "lower-case letters, digits or _ (e.g. business_license)")))
        if errors:
            raise ValidationFailed(text("上传内容不完整", "The upload is incomplete"), errors=errors)
        assert isinstance(upload, UploadFile) and isinstance(kind, str)
        stored = await store(upload, ctx.settings.data_dir)
        return await service.add_document(ctx, principal=principal, agency_id=agency_id, kind=kind.strip(),
                                          filename=(upload.filename or "")[:255] or None, stored=stored,
                                          precondition=_precondition(request))
    finally:
        await form.close()


@agencies.get("/{agency_id}/documents/{document_id}", summary="下载备案材料 / download a document",
              responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}})
async def download_document(agency_id: uuid.UUID, document_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    doc = await service.document_for_download(ctx, principal=principal, agency_id=agency_id, document_id=document_id)
    path = document_path(ctx.settings.data_dir, doc.sha256)
    if not path.is_file():
        raise NotFound(text("材料文件缺失，请联系运维", "The document's content is missing; contact operations"))
    return FileResponse(path, media_type=doc.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{doc.id}{EXTENSIONS.get(doc.content_type, '')}\"",
        "X-Content-Type-Options": "nosniff", "ETag": f'"{doc.sha256}"', "Cache-Control": "private, max-age=3600"})


EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def _limited(request: Request) -> Request:
    """The same request, whose body stops being read once it passes the upload limit."""
    seen = 0

    async def receive():  # noqa: ANN202
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD:
                raise too_large()
        return message

    return Request(request.scope, receive)


@agencies.post("/{agency_id}/submit", response_model=AgencyRead, summary="提交备案（自动检查）/ submit")
async def submit(agency_id: uuid.UUID, request: Request, ctx: Ctx, principal: PendingOrgPrincipal) -> Response:
    return _with_etag(await transitions.submit(ctx, principal=principal, agency_id=agency_id,
                                           precondition=_precondition(request)))


@agencies.post("/{agency_id}/review", response_model=AgencyRead, summary="审核备案 / review")
async def review(agency_id: uuid.UUID, body: ReviewIn, request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    return _with_etag(await transitions.review(ctx, principal=principal, agency_id=agency_id, data=body,
                                           precondition=_precondition(request)))


def _regulatory(action: str, summary: str) -> None:
    @agencies.post(f"/{{agency_id}}/{action}", response_model=AgencyRead, summary=summary, name=f"{action}_agency")
    async def act(agency_id: uuid.UUID, body: ReasonIn, request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
        return _with_etag(await transitions.regulate(ctx, principal=principal, agency_id=agency_id, action=action,
                                                 reason=body.reason, precondition=_precondition(request)))


_regulatory("suspend", "暂停备案 / suspend")
_regulatory("reinstate", "恢复备案 / reinstate")
_regulatory("revoke", "撤销备案 / revoke")


# --- the public directory -----------------------------------------------------------------------
CSV_HEADER = ["机构ID", "机构名称", "统一社会信用代码", "备案编号", "有效期至", "信用等级", "信用分", "服务区县", "服务行业",
              "注册安全工程师", "在管合同数", "剩余托管容量"]


@public.get("/agencies", response_model=Page[DirectoryItem],
            summary="已备案机构公示名单（公开；Accept: text/csv 导出）/ the public directory",
            responses={200: {"content": {"text/csv": {}}}})
async def directory_agencies(
    request: Request, ctx: Ctx, params: Annotated[PageParams, Depends(page_params)],
    district: Annotated[str | None, Query(max_length=12, description="服务区县代码")] = None,
    industry: Industry | None = None,
    grade: Literal["A", "B", "C", "D"] | None = None,
    q: Annotated[str | None, Query(max_length=100, description="名称关键字")] = None,
) -> Any:
    filters = {"district": _district(district, "district"), "industry": str(industry) if industry else None,
               "grade": grade, "q": (q or "").strip() or None}
    wants_csv = _prefers_csv(request.headers.get("accept", ""))
    async with ctx.db.reader() as session:
        if wants_csv:
            return _csv(await directory.everything(session, ctx.policy, **filters))
        items, cursor = await directory.page(session, ctx.policy, params, **filters)
    return Page[DirectoryItem](items=items, next_cursor=cursor)


def _prefers_csv(accept: str) -> bool:
    """CSV when ``Accept`` ranks text/csv above JSON (``text/csv`` alone, or with a higher q)."""
    weights: dict[str, float] = {}
    for part in accept.lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weights[media] = max(q, weights.get(media, 0.0))
    csv_q = weights.get("text/csv", 0.0)
    json_q = max(weights.get("application/json", 0.0), weights.get("application/*", 0.0), weights.get("*/*", 0.0) * 0.99)
    return csv_q > 0 and csv_q >= json_q


def _cell(value: Any) -> str:
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value  # no formulas in Excel


def _csv(items: list[DirectoryItem]) -> Response:
    jur = load_jurisdiction()
    english = current_language.get().startswith("en")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for it in items:
        writer.writerow([_cell(v) for v in (
            it.id, it.name, it.uscc, it.filing_no, it.valid_until, it.grade, it.credit_score,
            ";".join(jur.name_of(d, "en" if english else "zh-CN") for d in it.service_districts),
            ";".join(INDUSTRY_NAMES.get(i, (i, i))[1 if english else 0] for i in it.service_industries),
            ";".join(it.registered_engineers), it.active_contracts, it.remaining_capacity)])
    body = "\ufeff" + buffer.getvalue()  # BOM: Excel then reads the UTF-8 Chinese correctly
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="agencies.csv"'})


ROUTERS = [policy_router, agencies, public]
