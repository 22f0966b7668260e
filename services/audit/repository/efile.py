"""The reads of an enterprise's file (一企一档, SPEC §22; ``services.audit.service.efile``): every
record audit holds of one enterprise, up to now — the accident dossier's reads
(``CustodyRecord``) with "now" for the time, plus all its contracts (not only those in force), its
risk history and its supervision cases."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import ContractView, EnterpriseRiskStep, ServiceLog, SupervisionCase
from services.audit.repository.accidents import CustodyRecord


class EnterpriseRecord(CustodyRecord):
    async def all_contracts(self) -> list[ContractView]:
        """Every contract audit knows of the enterprise, whatever its state, by term."""
        stmt = (
            sa.select(ContractView)
            .where(col(ContractView.enterprise_uscc) == self.uscc)
            .order_by(col(ContractView.start_date), col(ContractView.id))
        )
        return await self._all(stmt)

    async def all_visits(self) -> list[ServiceLog]:
        return await self.visits(date.min)

    async def risk_steps(self) -> list[EnterpriseRiskStep]:
        stmt = (
            sa.select(EnterpriseRiskStep)
            .where(col(EnterpriseRiskStep.enterprise_uscc) == self.uscc)
            .order_by(col(EnterpriseRiskStep.version))
        )
        return await self._all(stmt)

    async def supervision_cases(self) -> list[SupervisionCase]:
        stmt = (
            sa.select(SupervisionCase)
            .where(col(SupervisionCase.enterprise_uscc) == self.uscc)
            .order_by(col(SupervisionCase.opened_at), col(SupervisionCase.id))
        )
        return await self._all(stmt)
