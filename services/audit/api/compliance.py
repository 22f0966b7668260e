"""/api/v1/compliance"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from shared.app import Ctx
from shared.auth import CurrentPrincipal

from services.audit.schemas import ComplianceRead
from services.audit.service import compliance, summary

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])


@router.get("/contracts/{contract_id}", response_model=ComplianceRead, summary="合同履约情况 / contract compliance")
async def contract_compliance(contract_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> ComplianceRead:
    return ComplianceRead.model_validate(await compliance.report(ctx, principal=principal, contract_id=contract_id))


@router.get("/summary", summary="按区县统计（监管看板）/ counts by district for the dashboard")
async def district_summary(ctx: Ctx, principal: CurrentPrincipal) -> dict[str, Any]:
    """Hazards by status (and major ones not yet verified), complaints by status and overdue,
    missed visits counted, audits by status — per district the caller governs."""
    return await summary.summary(ctx, principal=principal)
