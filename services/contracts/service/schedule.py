"""The contract's time-based steps (the sweep, sweeps.py): activation on ``start_date``, the
expiry notice ``expiring_notice_days`` before the end (``contract.expiring``, once), expiry after
``end_date`` — for an active contract or a suspended one, which cannot resume once its term ran out.

Safe with several replicas: the candidates are read without locks, then each one is taken in its
own transaction with its row locked *and the condition repeated* (PostgreSQL's ``FOR UPDATE``
waits for a concurrent replica and re-evaluates the condition on the committed row; SQLite
serialises writers with ``BEGIN IMMEDIATE``), so each step happens once whichever replica gets there first.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.contracts.repository import Contracts
from services.contracts.service import steps
from services.contracts.states import ACTIVATE, CONTRACT, EXPIRE, NOTIFY_EXPIRING
from shared.states import Action
from shared.uow import UnitOfWork

ACTOR = "system:sweep"  # how the sweep signs the history
DUE_STEPS = (ACTIVATE, EXPIRE, NOTIFY_EXPIRING)  # in this order: a contract activated today may expire today


async def due(uow: UnitOfWork, *, action: Action, as_of: date) -> list[uuid.UUID]:
    """The contracts whose time for ``action`` has come as of ``as_of`` (read without locks)."""
    async with uow.read():
        contracts = Contracts(uow.session)
        return await contracts.ids_where(contracts.due(action, as_of, notice_days=uow.policy.expiring_notice_days))


async def take_due_step(uow: UnitOfWork, *, contract_id: uuid.UUID, action: Action, as_of: date) -> bool:
    """Take ``action`` on the contract if it is still due under the lock; False when another
    replica got there first."""
    async with uow:
        contracts = Contracts(uow.session)
        condition = contracts.due(action, as_of, notice_days=uow.policy.expiring_notice_days)
        contract = await contracts.locked_if(contract_id, condition)
        if contract is None:
            return False
        step = CONTRACT.step(action, contract.status, uow.principal.role)
        if action is ACTIVATE:
            reason = f"开始日期 {contract.start_date} 已到 / start date reached"
        elif action is EXPIRE:
            contract.previous_status = None
            contract.end_reason = "期满 / term ended"
            reason = f"协议于 {contract.end_date} 期满 / term ended on {contract.end_date}"
        else:
            contract.expiring_notified_at = uow.now
            days = (contract.end_date - as_of).days
            reason = f"协议将于 {contract.end_date} 到期（剩 {days} 天） / ends on {contract.end_date} ({days} days)"
        # the notice keeps the state and is no history entry; activation and expiry are
        previous = steps.take(uow, contract, step, reason=reason, actor=ACTOR, recorded=step.changes_state)
        await steps.emit(
            uow, contract, step.emits, reason=reason, previous_status=previous if step.changes_state else None
        )
        return True
