"""HTTP API of the enterprises service (SPEC §8): auth dependency → service function → response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal, PendingOrgPrincipal
from shared.errors import FieldError, UnsupportedMediaType, ValidationFailed
from shared.http import check_if_match, set_etag
from shared.i18n import text
from shared.pagination import PageParams, page_params
from shared.reference import Industry, RiskLevel

from services.enterprises import importer, service
from shared.validation import no_control
from services.enterprises.schemas import (EnterpriseCreate, EnterprisePage, EnterpriseRead, EnterpriseUpdate,
                                          ImportReport, RiskRead)

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])
IMPORT_PATH = r"^/api/v1/enterprises/import$"
MAX_IMPORT_BYTES = 256 * 1024 * 1024  # streamed, never held whole; ~1.4 million rows
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}


@router.post("", status_code=201, response_model=EnterpriseRead, summary="登记企业 / register an enterprise")
async def create(body: EnterpriseCreate, ctx: Ctx, principal: PendingOrgPrincipal, response: Response) -> dict:
    record = await service.create_enterprise(ctx, principal=principal, data=body)
    set_etag(response, record["version"])
    response.headers["Location"] = f"/api/v1/enterprises/{record['id']}"
    return record


@router.get("", response_model=EnterprisePage, summary="企业列表 / list enterprises")
async def list_(
    ctx: Ctx,
    principal: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    district: Annotated[str | None, Query(max_length=12, description="区县代码（市代码 = 全市）")] = None,
    industry: Annotated[Industry | None, Query()] = None,
    risk_level: Annotated[RiskLevel | None, Query()] = None,
    has_custodian: Annotated[bool | None, Query(description="是否已托管")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="名称或统一社会信用代码片段")] = None,
) -> dict:
    try:
        no_control(q)
    except ValueError:
        raise ValidationFailed(text("查询词含有控制字符", "The query has control characters"),
                               errors=[FieldError("q", text("含有控制字符", "contains control characters"))]) from None
    filters = service.ListFilters(district=district, industry=industry.value if industry else None,
                                  risk_level=risk_level.value if risk_level else None, has_custodian=has_custodian, q=q)
    items, cursor = await service.list_enterprises(ctx, principal=principal, filters=filters, page=page)
    return {"items": items, "next_cursor": cursor}


@router.post("/import", response_model=ImportReport, max_body_size=MAX_IMPORT_BYTES, summary="批量导入（CSV）/ bulk import (CSV)",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_(request: Request, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    if media.strip().lower() not in CSV_TYPES:
        raise UnsupportedMediaType(text("请以 text/csv 上传 CSV 文件", "Send the CSV file as text/csv"))
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return await importer.import_csv(ctx, principal=principal, chunks=request.stream(), charset=charset)


@router.get("/by-uscc/{uscc}", response_model=EnterpriseRead, summary="按统一社会信用代码查询 / look up by USCC")
async def by_uscc(uscc: Annotated[str, Path(max_length=40)], ctx: Ctx, principal: CurrentPrincipal, response: Response) -> dict:
    record = await service.get_by_uscc(ctx, principal=principal, uscc=uscc)
    set_etag(response, record["version"])
    return record


@router.get("/{enterprise_id}", response_model=EnterpriseRead, summary="企业详情 / an enterprise")
async def get(enterprise_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> dict:
    record = await service.get_enterprise(ctx, principal=principal, enterprise_id=enterprise_id)
    set_etag(response, record["version"])
    return record


@router.patch("/{enterprise_id}", response_model=EnterpriseRead, summary="修改企业信息 / update an enterprise")
async def patch(enterprise_id: uuid.UUID, body: EnterpriseUpdate, ctx: Ctx, principal: CurrentPrincipal,
                request: Request, response: Response) -> dict:
    record = await service.update_enterprise(ctx, principal=principal, enterprise_id=enterprise_id, patch=body,
                                             precondition=lambda version: check_if_match(request, version))
    set_etag(response, record["version"])
    return record


@router.get("/{enterprise_id}/risk", response_model=RiskRead, summary="风险等级及其因素 / risk level and its factors")
async def risk(enterprise_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await service.explain_risk(ctx, principal=principal, enterprise_id=enterprise_id)
