"""/api/v1/complaints"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal, MaybePrincipal, Principal
from shared.http import check_if_match, set_etag
from shared.pagination import Page, PageParams, page_params

from services.audit.api.export import all_rows, csv_response, wants_csv
from services.audit.schemas import (ComplaintCreate, ComplaintRead, ForwardBody, ResolveBody, RespondBody, TimelineStep,
                                    TrackBody, TrackedComplaint, TrackedStep)
from services.audit.service import complaints

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])
CSV_COLUMNS = ("id", "status", "category", "district_code", "agency_id", "contract_id", "anonymous", "received_on",
               "response_due", "resolve_due", "outcome", "overdue", "response_overdue", "resolution_overdue",
               "description", "response", "notes")


def view(c, principal: Principal | None, steps=None) -> ComplaintRead:  # noqa: ANN001
    data = {**c.model_dump(), "overdue": bool(c.response_overdue or c.resolution_overdue)}
    if principal is None or principal.role == "agency":
        data["contact_phone"] = None  # the complainant's phone is for the bureau, not the agency
    if principal is not None and principal.role == "agency" and c.anonymous:
        data["complainant_uscc"] = None
    if steps is not None:
        data["timeline"] = [TimelineStep.model_validate(s) for s in steps]
    return ComplaintRead.model_validate(data)


@router.post("", status_code=201, response_model=ComplaintRead,
             summary="提交投诉（企业或匿名公众）/ complain (enterprise or anonymous)")
async def submit(body: ComplaintCreate, ctx: Ctx, principal: MaybePrincipal, response: Response) -> ComplaintRead:
    c, code = await complaints.submit(ctx, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/complaints/{c.id}"
    set_etag(response, c.version)
    return view(c, principal).model_copy(update={"tracking_code": code})


@router.post("/track", response_model=TrackedComplaint,
             summary="匿名投诉人凭查询码查看进度 / an anonymous complainant follows up with the tracking code")
async def track(body: TrackBody, ctx: Ctx) -> TrackedComplaint:
    c, steps = await complaints.track(ctx, complaint_id=body.id, code=body.tracking_code)
    return TrackedComplaint.model_validate({**c.model_dump(), "timeline": [TrackedStep.model_validate(s) for s in steps]})


@router.get("", response_model=Page[ComplaintRead], summary="投诉列表（Accept: text/csv 导出）/ list complaints (CSV export)",
            responses={200: {"content": {"text/csv": {}}}})
async def listing(ctx: Ctx, principal: CurrentPrincipal, request: Request, page: Annotated[PageParams, Depends(page_params)],
                  status: Literal["received", "forwarded", "responded", "closed"] | None = None,
                  agency_id: uuid.UUID | None = None, overdue: bool | None = None) -> Page[ComplaintRead] | Response:
    async def fetch(p: PageParams):  # noqa: ANN202
        return await complaints.listing(ctx, principal=principal, status=status, agency_id=agency_id, overdue=overdue,
                                        page=p)

    if wants_csv(request):
        return csv_response([view(c, principal) for c in await all_rows(fetch)], CSV_COLUMNS, "complaints.csv")
    rows, cursor = await fetch(page)
    return Page[ComplaintRead](items=[view(c, principal) for c in rows], next_cursor=cursor)


@router.get("/{complaint_id}", response_model=ComplaintRead, summary="投诉详情与时间线 / a complaint and its timeline")
async def get_one(complaint_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, response: Response) -> ComplaintRead:
    c, steps = await complaints.get(ctx, principal=principal, complaint_id=complaint_id)
    set_etag(response, c.version)
    return view(c, principal, steps)


@router.post("/{complaint_id}/forward", response_model=ComplaintRead, summary="通报机构 / forward to the agency")
async def forward(complaint_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, request: Request, response: Response,
                  body: ForwardBody | None = None) -> ComplaintRead:
    c = await complaints.forward(ctx, principal=principal, complaint_id=complaint_id, note=body.note if body else None,
                                 if_match=lambda v: check_if_match(request, v))
    set_etag(response, c.version)
    return view(c, principal)


@router.post("/{complaint_id}/respond", response_model=ComplaintRead, summary="机构答复 / the agency responds")
async def respond(complaint_id: uuid.UUID, body: RespondBody, ctx: Ctx, principal: CurrentPrincipal, request: Request,
                  response: Response) -> ComplaintRead:
    c = await complaints.respond(ctx, principal=principal, complaint_id=complaint_id, response=body.response,
                                 if_match=lambda v: check_if_match(request, v))
    set_etag(response, c.version)
    return view(c, principal)


@router.post("/{complaint_id}/resolve", response_model=ComplaintRead, summary="办结投诉 / resolve")
async def resolve(complaint_id: uuid.UUID, body: ResolveBody, ctx: Ctx, principal: CurrentPrincipal, request: Request,
                  response: Response) -> ComplaintRead:
    c = await complaints.resolve(ctx, principal=principal, complaint_id=complaint_id, outcome=body.outcome,
                                 notes=body.notes, if_match=lambda v: check_if_match(request, v))
    set_etag(response, c.version)
    return view(c, principal)
