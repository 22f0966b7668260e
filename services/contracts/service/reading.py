"""Reading contracts: one with its signatures and history, or a page of those the caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.contracts.models import Contract
from services.contracts.repository import Contracts
from services.contracts.states import ContractStatus
from shared.pagination import PageParams
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class ContractList:
    items: list[Contract]
    next_cursor: str | None


async def get_contract(uow: UnitOfWork, *, contract_id: uuid.UUID) -> Contract:
    async with uow.read():
        return await Contracts(uow.session).get_full(contract_id, uow.principal)


async def list_contracts(
    uow: UnitOfWork,
    *,
    page: PageParams,
    status: ContractStatus | None = None,
    agency_id: uuid.UUID | None = None,
    enterprise_uscc: str | None = None,
    district: str | None = None,
    risk_flagged: bool | None = None,
) -> ContractList:
    async with uow.read():
        items, cursor = await Contracts(uow.session).page(
            uow.principal,
            page,
            status=status,
            agency_id=agency_id,
            enterprise_uscc=enterprise_uscc,
            district=district,
            risk_flagged=risk_flagged,
        )
    return ContractList(items=items, next_cursor=cursor)
