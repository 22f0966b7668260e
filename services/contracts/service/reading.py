"""Reading contracts: one with its signatures and history, or a page of those the caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.contracts.models import Contract
from services.contracts.repository import Contracts
from services.contracts.states import ContractStatus
from shared.counts import Counts
from shared.pagination import PageParams
from shared.reference import checked_town
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
    town: str | None = None,
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
            town=checked_town(district, town),
            risk_flagged=risk_flagged,
        )
    return ContractList(items=items, next_cursor=cursor)


async def count_contracts(
    uow: UnitOfWork,
    *,
    by: list[str],
    status: ContractStatus | None = None,
    district: str | None = None,
    town: str | None = None,
    ending_before: date | None = None,
    risk_flagged: bool | None = None,
) -> Counts:
    """The list's rows counted (docs/PORTAL.md): the same scope and filters as ``list_contracts``."""
    async with uow.read():
        return await Contracts(uow.session).counts(
            uow.principal,
            by,
            as_of=uow.now,
            status=status,
            district=district,
            town=checked_town(district, town),
            ending_before=ending_before,
            risk_flagged=risk_flagged,
        )
