"""/api/v1/credit"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from shared.app import Ctx
from shared.auth import CurrentPrincipal
from shared.http import set_etag

from services.audit.schemas import CreditFileRead, CreditRecordRead
from services.audit.service import credit

router = APIRouter(prefix="/api/v1/credit", tags=["credit"])


@router.get("/agencies/{agency_id}", response_model=CreditFileRead, summary="机构诚信档案 / an agency's credit file")
async def credit_file(agency_id: uuid.UUID, ctx: Ctx, _: CurrentPrincipal, response: Response) -> CreditFileRead:
    """Readable by any signed-in principal: the grade is public in the directory, and the file shows
    why (records name their causes by id; the causes themselves stay behind their own checks)."""
    async with ctx.db.reader() as session:
        data = await credit.credit_file(session, ctx, agency_id)
    set_etag(response, data["version"])
    return CreditFileRead.model_validate({**data, "records": [CreditRecordRead.model_validate(r) for r in data["records"]]})
