"""/api/v1/compliance"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.audit import service
from services.audit.schemas import ComplianceRead, ComplianceSummaryRead
from services.audit.schemas.trends import TrendsRead
from services.audit.service.compliance import Compliance, ComplianceSummary
from services.audit.service.trends import TrendReport, trends
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


MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


@router.get("/trends", response_model=TrendsRead, summary="按月趋势（监管看板）/ monthly trends for the dashboard")
async def monthly_trends(
    uow: UoW,
    _: CurrentPrincipal,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    town: Annotated[str | None, Query(pattern=r"^\d{9,12}$")] = None,
    from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
    to: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> TrendReport:
    """Per month of ``from``..``to`` (default: the last 12 months; at most 60): custody coverage,
    visits delivered ÷ required, hazards closed on time, major hazards acknowledged in time,
    complaints answered on time — each numerator, denominator and rate (null when nothing was due)."""
    return await trends(uow, district=district, town=town, first=from_, last=to)
