"""/api/v1/accidents: accidents, their dossiers as of the accident, and findings (SPEC §20)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from services.audit.models import Accident
from services.audit.repository import Listing
from services.audit.schemas.accidents import AccidentCreate, AccidentRead, DossierRead, FindingsBody
from services.audit.service import accidents as service
from services.audit.service.dossier import Dossier
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import TownQuery
from shared.pagination import Page, PageParams, page_params
from shared.reference import DistrictCode

router = APIRouter(prefix="/api/v1/accidents", tags=["accidents"])


@router.post(
    "",
    status_code=201,
    response_model=AccidentRead,
    summary="登记生产安全事故（企业所在区县或市级应急管理部门）/ record an accident (the district's or the city bureau)",
)
async def record(body: AccidentCreate, uow: UoW, _: CurrentPrincipal, response: Response) -> Accident:
    accident = await service.record_accident(uow, body=body)
    response.headers["Location"] = f"/api/v1/accidents/{accident.id}"
    return accident


@router.get("", response_model=Page[AccidentRead], summary="事故列表 / list accidents (bureaus)")
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    district: DistrictCode | None = None,
    town: TownQuery = None,
) -> Listing[Accident]:
    return await service.list_accidents(uow, district=district, town=town, page=page)


@router.get("/{accident_id}", response_model=AccidentRead, summary="事故详情 / an accident")
async def get_one(accident_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Accident:
    return await service.get_accident(uow, accident_id=accident_id)


@router.get(
    "/{accident_id}/dossier",
    response_model=DossierRead,
    responses={200: {"content": {exports.XLSX_MEDIA_TYPE: {}}}},
    summary="一案双查：事故发生时的托管档案（JSON 或 XLSX）/ the custody record as of the accident (JSON or XLSX)",
)
async def dossier(
    accident_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, accept: Annotated[str | None, Header()] = None
) -> Dossier | Response:
    if exports.wants_xlsx(accept):
        accident, body = await service.dossier_xlsx(uow, accident_id=accident_id)
        return Response(
            body,
            media_type=exports.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="accident-{accident.id}-dossier.xlsx"'},
        )
    return await service.get_dossier(uow, accident_id=accident_id)


@router.post(
    "/{accident_id}/findings",
    response_model=AccidentRead,
    responses={409: {"description": "调查结论已登记 / findings already recorded"}},
    summary="登记事故调查结论（机构有责时记失信）/ record the findings (a fraud-sized credit record when the agency is at fault)",
)
async def findings(accident_id: uuid.UUID, body: FindingsBody, uow: UoW, _: CurrentPrincipal) -> Accident:
    return await service.record_findings(uow, accident_id=accident_id, body=body)
