"""/api/v1/audits"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.audit import service
from services.audit.models import AuditSample, AuditTask
from services.audit.schemas import PERIOD, AuditResult, AuditTaskRead, AuditTaskStatusIn, SampleCreate, SampleRead
from services.audit.service import Listing
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import IfMatch, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/audits", tags=["audits"])


@router.post(
    "/sample",
    status_code=201,
    response_model=SampleRead,
    summary="质量审计抽样 / draw an audit sample",
    responses={409: {"description": "本期该范围已经抽样 / already sampled"}},
)
async def sample(body: SampleCreate, uow: UoW, _: CurrentPrincipal, response: Response) -> AuditSample:
    drawn = await service.draw_sample(uow, body=body)
    response.headers["Location"] = f"/api/v1/audits/samples/{drawn.id}"
    return drawn


@router.get("/samples/{sample_id}", response_model=SampleRead, summary="抽样记录 / a sample's log")
async def get_sample(sample_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> AuditSample:
    return await service.get_sample(uow, sample_id=sample_id)


@router.get("", response_model=Page[AuditTaskRead], summary="审计任务列表 / list audits")
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: AuditTaskStatusIn | None = None,
    agency_id: uuid.UUID | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
) -> Listing[AuditTask]:
    """Agencies see their tasks once completed, never a pending one."""
    return await service.list_audit_tasks(uow, status=status, agency_id=agency_id, period=period, page=page)


@router.get("/{task_id}", response_model=AuditTaskRead, summary="审计任务详情 / one audit")
async def get_one(task_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> AuditTask:
    return with_etag(response, await service.get_audit_task(uow, task_id=task_id))


@router.post("/{task_id}/result", response_model=AuditTaskRead, summary="登记审计结果 / record an audit result")
async def result(
    task_id: uuid.UUID, body: AuditResult, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> AuditTask:
    return with_etag(response, await service.record_result(uow, task_id=task_id, body=body, if_match=if_match))
