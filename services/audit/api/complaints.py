"""/api/v1/complaints"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from services.audit import service
from services.audit.schemas import (
    ComplaintCreate,
    ComplaintRead,
    ComplaintStatusIn,
    ForwardBody,
    ResolveBody,
    RespondBody,
    TrackBody,
    TrackedComplaint,
)
from services.audit.service import Listing
from services.audit.service.complaints import ComplaintSeen
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.http import IfMatch, with_etag
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])
CSV_COLUMNS = (
    "id",
    "status",
    "category",
    "district_code",
    "agency_id",
    "contract_id",
    "anonymous",
    "received_on",
    "response_due",
    "resolve_due",
    "outcome",
    "overdue",
    "response_overdue",
    "resolution_overdue",
    "description",
    "response",
    "notes",
)


@router.post(
    "",
    status_code=201,
    response_model=ComplaintRead,
    summary="提交投诉（企业或匿名公众）/ complain (enterprise or anonymous)",
)
async def submit(body: ComplaintCreate, uow: UoW, _: MaybePrincipal, response: Response) -> ComplaintSeen:
    complaint = await service.submit_complaint(uow, body=body)
    response.headers["Location"] = f"/api/v1/complaints/{complaint.id}"
    return with_etag(response, complaint)


@router.post(
    "/track",
    response_model=TrackedComplaint,
    summary="匿名投诉人凭查询码查看进度 / an anonymous complainant follows up with the tracking code",
)
async def track(body: TrackBody, uow: UoW, _: MaybePrincipal) -> ComplaintSeen:
    return await service.track_complaint(uow, complaint_id=body.id, code=body.tracking_code)


@router.get(
    "",
    response_model=Page[ComplaintRead],
    summary="投诉列表（Accept: text/csv 导出）/ list complaints (CSV export)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def listing(
    uow: UoW,
    _: CurrentPrincipal,
    page: Annotated[PageParams, Depends(page_params)],
    status: ComplaintStatusIn | None = None,
    agency_id: uuid.UUID | None = None,
    overdue: bool | None = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Listing[ComplaintSeen] | Response:
    if exports.wants_csv(accept):
        rows = await service.export_complaints(uow, status=status, agency_id=agency_id, overdue=overdue)
        return exports.csv_response(
            CSV_COLUMNS, ([getattr(c, name) for name in CSV_COLUMNS] async for c in rows), filename="complaints.csv"
        )
    return await service.list_complaints(uow, status=status, agency_id=agency_id, overdue=overdue, page=page)


@router.get("/{complaint_id}", response_model=ComplaintRead, summary="投诉详情与时间线 / a complaint and its timeline")
async def get_one(complaint_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> ComplaintSeen:
    return with_etag(response, await service.get_complaint(uow, complaint_id=complaint_id))


@router.post("/{complaint_id}/forward", response_model=ComplaintRead, summary="通报机构 / forward to the agency")
async def forward(
    complaint_id: uuid.UUID,
    uow: UoW,
    _: CurrentPrincipal,
    if_match: IfMatch,
    response: Response,
    body: ForwardBody | None = None,
) -> ComplaintSeen:
    return with_etag(
        response,
        await service.forward_complaint(
            uow, complaint_id=complaint_id, note=body.note if body else None, if_match=if_match
        ),
    )


@router.post("/{complaint_id}/respond", response_model=ComplaintRead, summary="机构答复 / the agency responds")
async def respond(
    complaint_id: uuid.UUID, body: RespondBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> ComplaintSeen:
    return with_etag(
        response,
        await service.respond_to_complaint(uow, complaint_id=complaint_id, response=body.response, if_match=if_match),
    )


@router.post("/{complaint_id}/resolve", response_model=ComplaintRead, summary="办结投诉 / resolve")
async def resolve(
    complaint_id: uuid.UUID, body: ResolveBody, uow: UoW, _: CurrentPrincipal, if_match: IfMatch, response: Response
) -> ComplaintSeen:
    return with_etag(
        response,
        await service.resolve_complaint(
            uow, complaint_id=complaint_id, outcome=body.outcome, notes=body.notes, if_match=if_match
        ),
    )
