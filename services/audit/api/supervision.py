"""/api/v1/supervision — major-hazard supervision cases (挂牌督办, SPEC §17)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.audit.models import SupervisionCase
from services.audit.repository import Listing
from services.audit.schemas import SupervisionCaseRead, SupervisionCloseBody, SupervisionListBody, SupervisionStatusIn
from services.audit.service import supervision as cases
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.counts import Counts, by_param
from shared.http import IfMatch, TownQuery, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])


@router.get("", response_model=Page[SupervisionCaseRead], summary="重大隐患督办列表 / list supervision cases")
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: SupervisionStatusIn | None = None,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    town: TownQuery = None,
) -> Listing[SupervisionCase]:
    return await cases.list_cases(uow, status=status, district=district, town=town, page=page)


@router.get("/counts", response_model=Counts, summary="督办案件计数 / count supervision cases")
async def counting(
    uow: UoW,
    _: CurrentPrincipal,
    by: Annotated[list[str], Depends(by_param("district", "town", "status", default="district,status"))],
    status: SupervisionStatusIn | None = None,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    town: TownQuery = None,
    overdue_ack: Annotated[bool, Query(description="只数逾期未确认的 / only those not acknowledged in time")] = False,
) -> Counts:
    return await cases.count_cases(uow, by=by, status=status, district=district, town=town, overdue_ack=overdue_ack)


@router.get("/{case_id}", response_model=SupervisionCaseRead, summary="督办案件详情 / one supervision case")
async def get_one(case_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> SupervisionCase:
    return with_etag(response, await cases.get_case(uow, case_id=case_id))


@router.post(
    "/{case_id}/acknowledge", response_model=SupervisionCaseRead, summary="监管部门确认督办 / acknowledge a case"
)
async def acknowledge(
    case_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> SupervisionCase:
    return with_etag(response, await cases.acknowledge_case(uow, case_id=case_id, if_match=if_match))


@router.post("/{case_id}/list", response_model=SupervisionCaseRead, summary="挂牌督办 / list a case")
async def list_(
    case_id: uuid.UUID, body: SupervisionListBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> SupervisionCase:
    return with_etag(
        response,
        await cases.list_case(
            uow,
            case_id=case_id,
            deadline=body.deadline,
            measures=body.measures,
            responsible=body.responsible,
            if_match=if_match,
        ),
    )


@router.post("/{case_id}/close", response_model=SupervisionCaseRead, summary="督办销号 / close a case")
async def close(
    case_id: uuid.UUID, body: SupervisionCloseBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> SupervisionCase:
    return with_etag(response, await cases.close_case(uow, case_id=case_id, notes=body.notes, if_match=if_match))
