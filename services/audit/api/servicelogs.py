"""/api/v1/service-logs"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.audit import service
from services.audit.models import DisputeDecision, ServiceLog
from services.audit.schemas import ServiceLogCreate, ServiceLogRead
from services.audit.schemas.disputes import DisputeBody, ResolveBody, ServiceLogStatusIn
from services.audit.service import Listing
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import IfMatch, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/service-logs", tags=["service-logs"])


@router.post(
    "",
    status_code=201,
    response_model=ServiceLogRead,
    summary="填报服务记录 / record a service visit",
    responses={409: {"description": "同一次走访已经记录过 / duplicate visit"}},
)
async def create(body: ServiceLogCreate, uow: UoW, _: CurrentPrincipal, response: Response) -> ServiceLog:
    entry = await service.record_service_log(uow, body=body)
    response.headers["Location"] = f"/api/v1/service-logs/{entry.id}"
    return with_etag(response, entry)


@router.post("/{log_id}/confirm", response_model=ServiceLogRead, summary="企业确认服务记录 / countersign a visit")
async def confirm(
    log_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> ServiceLog:
    return with_etag(response, await service.confirm_service_log(uow, log_id=log_id, if_match=if_match))


@router.post(
    "/{log_id}/dispute",
    response_model=ServiceLogRead,
    summary="企业对服务记录提出异议 / dispute a visit",
    responses={409: {"description": "已确认或已有异议的记录不能再提出异议 / not disputable in its state"}},
)
async def dispute(
    log_id: uuid.UUID, body: DisputeBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> ServiceLog:
    entry = await service.dispute_service_log(uow, log_id=log_id, reason=body.reason, if_match=if_match)
    return with_etag(response, entry)


@router.post(
    "/{log_id}/resolve",
    response_model=ServiceLogRead,
    summary="监管部门裁决服务记录异议 / resolve a disputed visit",
    responses={409: {"description": "记录不在异议中 / the visit is not disputed"}},
)
async def resolve(
    log_id: uuid.UUID, body: ResolveBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> ServiceLog:
    entry = await service.resolve_dispute(
        uow, log_id=log_id, decision=DisputeDecision(body.decision), notes=body.notes, if_match=if_match
    )
    return with_etag(response, entry)


@router.get("", response_model=Page[ServiceLogRead], summary="服务记录列表 / list service logs")
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    contract_id: uuid.UUID | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    status: ServiceLogStatusIn | None = None,
) -> Listing[ServiceLog]:
    return await service.list_service_logs(
        uow, contract_id=contract_id, date_from=date_from, date_to=date_to, status=status, page=page
    )


@router.get("/{log_id}", response_model=ServiceLogRead, summary="服务记录详情 / one service log")
async def get_one(log_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> ServiceLog:
    return with_etag(response, await service.get_service_log(uow, log_id=log_id))
