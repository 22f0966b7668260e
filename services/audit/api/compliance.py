"""/api/v1/compliance"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.audit import service
from services.audit.schemas import ComplianceRead, ComplianceSummaryRead
from services.audit.service.compliance import Compliance, ComplianceSummary
from shared.app import UoW
from shared.auth import CurrentPrincipal

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])


@router.get("/contracts/{contract_id}", response_model=ComplianceRead, summary="合同履约情况 / contract compliance")
async def contract_compliance(contract_id: uuid.UUID, uow: UoW, _: CurrentPrincipal) -> Compliance:
    return await service.compliance_of(uow, contract_id=contract_id)


@router.get(
    "/summary",
    response_model=ComplianceSummaryRead,
    summary="按区县统计（监管看板）/ counts by district for the dashboard",
)
async def district_summary(uow: UoW, _: CurrentPrincipal) -> ComplianceSummary:
    """Hazards by status (and major ones not yet verified), complaints by status and overdue,
    missed visits counted, audits by status — per district the caller governs."""
    return await service.district_summary(uow)
