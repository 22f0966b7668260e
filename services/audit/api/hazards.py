"""/api/v1/hazards"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.audit import service
from services.audit.models import Hazard
from services.audit.schemas import (
    HazardLevelIn,
    HazardRead,
    HazardStatusIn,
    RectifyBody,
    RejectRectificationBody,
    VerifyBody,
)
from services.audit.service import Listing
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import IfMatch, TownQuery, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"])
CSV_COLUMNS = (
    "id",
    "status",
    "level",
    "district_code",
    "enterprise_uscc",
    "agency_id",
    "contract_id",
    "description",
    "location",
    "deadline",
    "created_at",
    "rectified_at",
    "verified_at",
    "verified_late",
    "overdue_at",
)


@router.get(
    "",
    response_model=Page[HazardRead],
    summary="隐患列表（Accept: text/csv 导出）/ list hazards (CSV export)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: HazardStatusIn | None = None,
    level: HazardLevelIn | None = None,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    town: TownQuery = None,
    contract_id: uuid.UUID | None = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Listing[Hazard] | Response:
    if exports.wants_csv(accept):
        rows = await service.export_hazards(
            uow, status=status, level=level, district=district, town=town, contract_id=contract_id
        )
        return exports.csv_response(
            CSV_COLUMNS, ([getattr(h, c) for c in CSV_COLUMNS] async for h in rows), filename="hazards.csv"
        )
    return await service.list_hazards(
        uow, status=status, level=level, district=district, town=town, contract_id=contract_id, page=page
    )


@router.get("/{hazard_id}", response_model=HazardRead, summary="隐患详情 / one hazard")
async def get_one(hazard_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> Hazard:
    return with_etag(response, await service.get_hazard(uow, hazard_id=hazard_id))


@router.post("/{hazard_id}/rectify", response_model=HazardRead, summary="企业提交整改 / rectify a hazard")
async def rectify(
    hazard_id: uuid.UUID, body: RectifyBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> Hazard:
    return with_etag(
        response,
        await service.rectify_hazard(
            uow, hazard_id=hazard_id, note=body.note, attachments=body.attachments, if_match=if_match
        ),
    )


@router.post(
    "/{hazard_id}/verify",
    response_model=HazardRead,
    summary="验收整改（机构；重大隐患亦可由监管部门）/ verify a hazard (the agency; a major one: the bureau too)",
)
async def verify(
    hazard_id: uuid.UUID,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    response: Response,
    body: VerifyBody | None = None,
) -> Hazard:
    return with_etag(
        response,
        await service.verify_hazard(uow, hazard_id=hazard_id, note=body.note if body else None, if_match=if_match),
    )


@router.post(
    "/{hazard_id}/reject-rectification",
    response_model=HazardRead,
    summary="机构驳回整改 / the agency rejects a rectification",
)
async def reject_rectification(
    hazard_id: uuid.UUID,
    body: RejectRectificationBody,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    response: Response,
) -> Hazard:
    return with_etag(
        response,
        await service.reject_rectification(uow, hazard_id=hazard_id, reason=body.reason, if_match=if_match),
    )
