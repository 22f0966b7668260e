"""/api/v1/audits"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal
from shared.http import check_if_match, set_etag
from shared.pagination import Page, PageParams, page_params

from services.audit.schemas import PERIOD, AuditResult, AuditTaskRead, SampleCreate, SampleRead
from services.audit.service import audits

router = APIRouter(prefix="/api/v1/audits", tags=["audits"])


def _sample(record, tasks) -> SampleRead:  # noqa: ANN001
    return SampleRead.model_validate({**audits.sample_view(record, []),
                                      "tasks": [AuditTaskRead.model_validate(t) for t in tasks]})


@router.post("/sample", status_code=201, response_model=SampleRead, summary="质量审计抽样 / draw an audit sample",
             responses={409: {"description": "本期该范围已经抽样 / already sampled"}})
async def sample(body: SampleCreate, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> SampleRead:
    record, tasks = await audits.sample(ctx, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/audits/samples/{record.id}"
    return _sample(record, tasks)


@router.get("/samples/{sample_id}", response_model=SampleRead, summary="抽样记录 / a sample's log")
async def get_sample(sample_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> SampleRead:
    record, tasks = await audits.get_sample(ctx, principal=principal, sample_id=sample_id)
    return _sample(record, tasks)


@router.get("", response_model=Page[AuditTaskRead], summary="审计任务列表 / list audits")
async def listing(ctx: Ctx, principal: CurrentPrincipal, page: Annotated[PageParams, Depends(page_params)],
                  status: Literal["pending", "completed"] | None = None, agency_id: uuid.UUID | None = None,
                  period: Annotated[str | None, Query(pattern=PERIOD)] = None) -> Page[AuditTaskRead]:
    rows, cursor = await audits.listing(ctx, principal=principal, status=status, agency_id=agency_id, period=period, page=page)
    return Page[AuditTaskRead](items=[AuditTaskRead.model_validate(t) for t in rows], next_cursor=cursor)


@router.get("/{task_id}", response_model=AuditTaskRead, summary="审计任务详情 / one audit")
async def get_one(task_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> AuditTaskRead:
    task = await audits.get_task(ctx, principal=principal, task_id=task_id)
    set_etag(response, task.version)
    return AuditTaskRead.model_validate(task)


@router.post("/{task_id}/result", response_model=AuditTaskRead, summary="登记审计结果 / record an audit result")
async def result(task_id: uuid.UUID, body: AuditResult, ctx: Ctx, principal: CurrentPrincipal, request: Request,
                 response: Response) -> AuditTaskRead:
    task = await audits.record_result(ctx, principal=principal, task_id=task_id, body=body,
                                      if_match=lambda v: check_if_match(request, v))
    set_etag(response, task.version)
    return AuditTaskRead.model_validate(task)
