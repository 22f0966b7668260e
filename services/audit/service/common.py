"""Helpers every area of the audit service shares: who the caller is in our read models, what
they may see, and the conversions to event payloads."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import text

from services.audit.models import AgencyView, ContractView, EnterpriseView


async def agency_ids_of(session: AsyncSession, uscc: str | None) -> set[uuid.UUID]:
    """The agency ids an agency token (which carries only ``org_uscc``) stands for."""
    if not uscc:
        return set()
    rows = await session.execute(sa.select(AgencyView.id).where(AgencyView.uscc == uscc))
    return set(rows.scalars())


async def contract(session: AsyncSession, contract_id: uuid.UUID, *, field: str = "contract_id") -> ContractView:
    """The contract from the read model; an unknown one is a 422 on ``field`` (it may not have
    arrived yet: the client may retry)."""
    stmt = sa.select(ContractView).where(ContractView.id == contract_id)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise ValidationFailed(text("合同不存在（或尚未同步）", "Unknown contract (or not yet synchronised)"),
                               code=ErrorCode.UNKNOWN_CONTRACT, errors=[FieldError(field, text("合同不存在", "unknown contract"))])
    return found


async def agency(session: AsyncSession, agency_id: uuid.UUID) -> AgencyView | None:
    return (await session.execute(sa.select(AgencyView).where(AgencyView.id == agency_id))).scalar_one_or_none()


async def enterprise(session: AsyncSession, uscc: str) -> EnterpriseView | None:
    return (await session.execute(sa.select(EnterpriseView).where(EnterpriseView.uscc == uscc))).scalar_one_or_none()


class Scope:
    """What a principal may see of records that belong to an agency, an enterprise and a district."""

    def __init__(self, principal: Principal, agency_ids: set[uuid.UUID]) -> None:
        self.principal = principal
        self.agency_ids = agency_ids

    @classmethod
    async def of(cls, session: AsyncSession, principal: Principal) -> "Scope":
        ids = await agency_ids_of(session, principal.org_uscc) if principal.role == "agency" else set()
        return cls(principal, ids)

    def sees(self, *, agency_id: uuid.UUID, enterprise_uscc: str | None, district_code: str | None) -> bool:
        p = self.principal
        if p.role == "agency":
            return agency_id in self.agency_ids
        if p.role == "enterprise":
            return enterprise_uscc is not None and p.is_org(enterprise_uscc)
        return p.governs(district_code)

    def condition(self, *, agency_col: Any, uscc_col: Any, district_col: Any) -> Any:
        """A WHERE clause restricting a listing to what the principal sees (``sa.true()`` for all)."""
        p = self.principal
        if p.role == "agency":
            return agency_col.in_(sorted(self.agency_ids)) if self.agency_ids else sa.false()
        if p.role == "enterprise":
            return uscc_col == p.org_uscc if p.org_uscc else sa.false()
        if p.sees_everything:
            return sa.true()
        if p.is_bureau and p.district:
            return district_col == p.district
        return sa.false()


ENTITY_EN = {"服务记录": "Service log", "隐患": "Hazard", "投诉": "Complaint", "审计任务": "Audit task",
             "抽样记录": "Sample", "机构": "Agency", "合同": "Contract"}


def not_found(entity: str) -> NotFound:
    """404 for an entity named in Chinese (``ENTITY_EN`` gives the English)."""
    return NotFound(text(f"{entity}不存在", f"{ENTITY_EN.get(entity, entity)} not found"))


def forbid(zh: str, en: str) -> Forbidden:
    return Forbidden(text(zh, en))
