"""/api/v1/service-logs"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal
from shared.http import check_if_match, set_etag
from shared.pagination import Page, PageParams, page_params

from services.audit.schemas import HazardRead, ServiceLogCreate, ServiceLogRead
from services.audit.service import servicelogs

router = APIRouter(prefix="/api/v1/service-logs", tags=["service-logs"])


def view(entry: Any, hazards: list[Any]) -> ServiceLogRead:
    return ServiceLogRead.model_validate({**entry.model_dump(), "confirmed": entry.status == "confirmed",
                                          "hazards": [HazardRead.model_validate(h) for h in hazards]})


@router.post("", status_code=201, response_model=ServiceLogRead, summary="填报服务记录 / record a service visit",
             responses={409: {"description": "同一次走访已经记录过 / duplicate visit"}})
async def create(body: ServiceLogCreate, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> ServiceLogRead:
    entry, hazards = await servicelogs.record(ctx, principal=principal, body=body)
    set_etag(response, entry.version)
    response.headers["Location"] = f"/api/v1/service-logs/{entry.id}"
    return view(entry, hazards)


@router.post("/{log_id}/confirm", response_model=ServiceLogRead, summary="企业确认服务记录 / countersign a visit")
async def confirm(log_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, request: Request, response: Response) -> ServiceLogRead:
    entry, hazards = await servicelogs.confirm(ctx, principal=principal, log_id=log_id,
                                               if_match=lambda v: check_if_match(request, v))
    set_etag(response, entry.version)
    return view(entry, hazards)


@router.get("", response_model=Page[ServiceLogRead], summary="服务记录列表 / list service logs")
async def listing(ctx: Ctx, principal: CurrentPrincipal, page: Annotated[PageParams, Depends(page_params)],
                  contract_id: uuid.UUID | None = None,
                  date_from: Annotated[date | None, Query(alias="from")] = None,
                  date_to: Annotated[date | None, Query(alias="to")] = None) -> Page[ServiceLogRead]:
    rows, cursor = await servicelogs.listing(ctx, principal=principal, contract_id=contract_id, date_from=date_from,
                                             date_to=date_to, page=page)
    return Page[ServiceLogRead](items=[view(e, h) for e, h in rows], next_cursor=cursor)


@router.get("/{log_id}", response_model=ServiceLogRead, summary="服务记录详情 / one service log")
async def get_one(log_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> ServiceLogRead:
    entry, hazards = await servicelogs.get(ctx, principal=principal, log_id=log_id)
    set_etag(response, entry.version)
    return view(entry, hazards)
