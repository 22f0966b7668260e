"""/api/v1/hazards"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal
from shared.http import check_if_match, set_etag
from shared.pagination import Page, PageParams, page_params

from services.audit.api.export import all_rows, csv_response, wants_csv
from services.audit.schemas import HazardRead, RectifyBody, VerifyBody
from services.audit.service import hazards

router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"])
CSV_COLUMNS = ("id", "status", "level", "district_code", "enterprise_uscc", "agency_id", "contract_id", "description",
               "location", "deadline", "created_at", "rectified_at", "verified_at", "verified_late", "overdue_at")


@router.get("", response_model=Page[HazardRead], summary="隐患列表（Accept: text/csv 导出）/ list hazards (CSV export)",
            responses={200: {"content": {"text/csv": {}}}})
async def listing(ctx: Ctx, principal: CurrentPrincipal, request: Request, page: Annotated[PageParams, Depends(page_params)],
                  status: Literal["open", "rectified", "verified", "overdue"] | None = None,
                  level: Literal["general", "major"] | None = None,
                  district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
                  contract_id: uuid.UUID | None = None) -> Page[HazardRead] | Response:
    async def fetch(p: PageParams):  # noqa: ANN202
        return await hazards.listing(ctx, principal=principal, status=status, level=level, district=district,
                                     contract_id=contract_id, page=p)

    if wants_csv(request):
        return csv_response(await all_rows(fetch), CSV_COLUMNS, "hazards.csv")
    rows, cursor = await fetch(page)
    return Page[HazardRead](items=[HazardRead.model_validate(h) for h in rows], next_cursor=cursor)


@router.get("/{hazard_id}", response_model=HazardRead, summary="隐患详情 / one hazard")
async def get_one(hazard_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> HazardRead:
    hazard = await hazards.get(ctx, principal=principal, hazard_id=hazard_id)
    set_etag(response, hazard.version)
    return HazardRead.model_validate(hazard)


@router.post("/{hazard_id}/rectify", response_model=HazardRead, summary="企业提交整改 / rectify a hazard")
async def rectify(hazard_id: uuid.UUID, body: RectifyBody, ctx: Ctx, principal: CurrentPrincipal, request: Request,
                  response: Response) -> HazardRead:
    hazard = await hazards.rectify(ctx, principal=principal, hazard_id=hazard_id, note=body.note,
                                   if_match=lambda v: check_if_match(request, v))
    set_etag(response, hazard.version)
    return HazardRead.model_validate(hazard)


@router.post("/{hazard_id}/verify", response_model=HazardRead, summary="机构验收整改 / verify a rectification")
async def verify(hazard_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, request: Request, response: Response,
                 body: VerifyBody | None = None) -> HazardRead:
    hazard = await hazards.verify(ctx, principal=principal, hazard_id=hazard_id, note=body.note if body else None,
                                  if_match=lambda v: check_if_match(request, v))
    set_etag(response, hazard.version)
    return HazardRead.model_validate(hazard)
