"""Routes of change filings (变更备案, SPEC §18): file, list, review (service.changes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.registry import service
from services.registry.models import AgencyChange
from services.registry.schemas import ChangeIn, ChangeRead, ChangeReviewIn
from shared.app import UoW
from shared.auth import CurrentPrincipal

router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])


@router.post("/{agency_id}/changes", status_code=201, response_model=ChangeRead, summary="申请变更备案 / file a change")
async def file_change(agency_id: uuid.UUID, body: ChangeIn, uow: UoW, _: CurrentPrincipal) -> AgencyChange:
    return await service.file_change(uow, agency_id=agency_id, body=body)


@router.get("/{agency_id}/changes", response_model=list[ChangeRead], summary="变更备案记录 / change filings")
async def list_changes(agency_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> list[AgencyChange]:
    return await service.list_changes(uow, agency_id=agency_id)


@router.post(
    "/{agency_id}/changes/{change_id}/review", response_model=ChangeRead, summary="审核变更备案 / review a change"
)
async def review_change(
    agency_id: uuid.UUID, change_id: uuid.UUID, body: ChangeReviewIn, uow: UoW, _: CurrentPrincipal
) -> AgencyChange:
    return await service.review_change(
        uow, agency_id=agency_id, change_id=change_id, decision=body.decision, comments=body.comments
    )
