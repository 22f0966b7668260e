"""/api/v1/reports: public reports (群众举报, SPEC §22)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.audit.schemas.reports import (
    ReportAssignBody,
    ReportCloseBody,
    ReportCreate,
    ReportHandleBody,
    ReportRead,
    ReportStatusIn,
    ReportTrackBody,
    ReportTracked,
)
from services.audit.service import Listing
from services.audit.service import reports as service
from services.audit.service.reports import ReportSeen
from shared.app import UoW
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.http import TownQuery
from shared.pagination import Page, PageParams, page_params
from shared.reference import DistrictCode

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.post(
    "",
    status_code=201,
    response_model=ReportRead,
    summary="群众举报（匿名留电话，或任一账号）/ report an enterprise (anonymously with a phone, or any account)",
)
async def submit(body: ReportCreate, uow: UoW, _: MaybePrincipal, response: Response) -> ReportSeen:
    report = await service.submit_report(uow, body=body)
    response.headers["Location"] = f"/api/v1/reports/{report.id}"
    return report


@router.post(
    "/track",
    response_model=ReportTracked,
    # a wrong code or phone: the same 404 either way (the body names the report by its code)
    responses={404: {"description": "查询码或电话不符 / no report with that code and phone"}},
    summary="举报人凭查询码和电话查看进度 / the reporter follows up with the tracking code and phone",
)
async def track(body: ReportTrackBody, uow: UoW, _: MaybePrincipal) -> ReportSeen:
    return await service.track_report(uow, code=body.tracking_code, phone=body.contact_phone)


@router.get("", response_model=Page[ReportRead], summary="举报列表 / list reports (bureaus)")
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: ReportStatusIn | None = None,
    district: DistrictCode | None = None,
    town: TownQuery = None,
) -> Listing[ReportSeen]:
    return await service.list_reports(uow, status=status, district=district, town=town, page=page)


@router.get("/{report_id}", response_model=ReportRead, summary="举报详情与时间线 / a report and its timeline")
async def get_one(report_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> ReportSeen:
    return await service.get_report(uow, report_id=report_id)


@router.post("/{report_id}/assign", response_model=ReportRead, summary="交办 / assign (to a town)")
async def assign(report_id: uuid.UUID, body: ReportAssignBody, uow: UoW, _: CurrentPrincipal) -> ReportSeen:
    return await service.assign_report(uow, report_id=report_id, town=body.town, notes=body.notes)


@router.post("/{report_id}/handle", response_model=ReportRead, summary="核查处理 / handle")
async def handle(report_id: uuid.UUID, body: ReportHandleBody, uow: UoW, _: CurrentPrincipal) -> ReportSeen:
    return await service.handle_report(uow, report_id=report_id, notes=body.notes)


@router.post("/{report_id}/close", response_model=ReportRead, summary="办结 / close with the outcome")
async def close(report_id: uuid.UUID, body: ReportCloseBody, uow: UoW, _: CurrentPrincipal) -> ReportSeen:
    return await service.close_report(uow, report_id=report_id, outcome=body.outcome, notes=body.notes)
