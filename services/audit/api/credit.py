"""/api/v1/credit"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.audit import service
from services.audit.schemas import CreditFileRead
from services.audit.service.credit import CreditStanding
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import with_etag

router = APIRouter(prefix="/api/v1/credit", tags=["credit"])


@router.get("/agencies/{agency_id}", response_model=CreditFileRead, summary="机构诚信档案 / an agency's credit file")
async def credit_file(agency_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> CreditStanding:
    """Readable by any signed-in principal: the grade is public in the directory, and the file shows
    why (records name their causes by id; the causes themselves stay behind their own checks)."""
    return with_etag(response, await service.credit_file(uow, agency_id=agency_id))
