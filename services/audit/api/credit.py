"""/api/v1/credit"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.audit import service
from services.audit.models import CreditRecord
from services.audit.schemas import CreditFileRead, CreditRecordCreate, CreditRecordRead, EnterpriseCreditFileRead
from services.audit.service.credit import CreditStanding
from services.audit.service.ecredit import EnterpriseCreditStanding
from shared.app import UoW
from shared.auth import CurrentPrincipal
from shared.http import with_etag

router = APIRouter(prefix="/api/v1/credit", tags=["credit"])


@router.get("/agencies/{agency_id}", response_model=CreditFileRead, summary="机构诚信档案 / an agency's credit file")
async def credit_file(agency_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response) -> CreditStanding:
    """Readable by any signed-in principal: the grade is public in the directory, and the file shows
    why (records name their causes by id; the causes themselves stay behind their own checks)."""
    return with_etag(response, await service.credit_file(uow, agency_id=agency_id))


@router.post(
    "/agencies/{agency_id}/records",
    status_code=201,
    response_model=CreditRecordRead,
    summary="登记违规或表彰记录（监管部门）/ record a violation or a commendation (bureau)",
)
async def add_record(
    agency_id: uuid.UUID, body: CreditRecordCreate, uow: UoW, _: CurrentPrincipal, response: Response
) -> CreditRecord:
    """The bureau of the agency's district or the city bureau; the record enters the credit file."""
    record = await service.add_credit_record(uow, agency_id=agency_id, body=body)
    response.headers["Location"] = f"/api/v1/credit/agencies/{agency_id}"
    return record


@router.get(
    "/enterprises/{enterprise_id}",
    response_model=EnterpriseCreditFileRead,
    summary="企业诚信档案 / an enterprise's credit file",
)
async def enterprise_credit_file(
    enterprise_id: uuid.UUID, uow: UoW, _: CurrentPrincipal, response: Response
) -> EnterpriseCreditStanding:
    """The bureau of the enterprise's district or the city, and the enterprise itself. ``{id}`` is the
    enterprise id, as every ``/api/v1/enterprises/{id}`` path (docs/DECISIONS.md D47)."""
    return with_etag(response, await service.enterprise_credit_file(uow, enterprise_id=enterprise_id))
