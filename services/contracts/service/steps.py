"""What every contract use case does with a step of the machine (states.py), written once:
``authorize`` the caller's role, ``take`` the step (the new status, the next version, a history
row), ``note`` a change that keeps the status, ``emit`` the event the step declares, put a
regulatory act on the audit trail — and lock the parties' read-model rows in the one lock order
(repository.py).

The use case itself asks the machine for the step (``CONTRACT.step``: 409 / 403) and calls
``emit(uow, contract, step.emits, ...)`` — nothing here decides which event a state gets.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter

from services.contracts import events
from services.contracts.models import AgencyFacts, Contract, ContractHistory, EnterpriseFacts
from services.contracts.repository import Agencies, Enterprises
from services.contracts.states import CONTRACT, ContractStatus, roles_of
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.catalog import EventType
from shared.i18n import text
from shared.states import Action, Transition
from shared.uow import UnitOfWork

log = structlog.get_logger("contracts.service")
TRANSITIONS = Counter("custody_contract_transitions_total", "Contract status transitions", ["from_status", "to_status"])


def authorize(action: Action, principal: Principal) -> None:
    """403 when the caller's role may take ``action`` in no state: asked before the state (409),
    so that whoever may never sign or review is told so whatever the contract's state (SPEC §5:
    403 role, 409 state)."""
    if principal.role not in roles_of(action):
        raise Forbidden(
            text(
                f"你的角色不能对{CONTRACT.label.zh}执行“{action.label.zh}”",
                f"Your role may not {action.label.en} a {CONTRACT.label.en}",
            )
        )


def take(
    uow: UnitOfWork,
    contract: Contract,
    step: Transition[ContractStatus],
    *,
    reason: str | None = None,
    actor: str | None = None,
    recorded: bool = True,
) -> ContractStatus:
    """Move ``contract`` along ``step``; returns the state it left. ``recorded=False`` for the
    steps a bureau need not see in the history (one party's signature, the expiry notice)."""
    previous = ContractStatus(contract.status)
    if recorded:
        record(
            uow,
            contract,
            ContractHistory(
                contract_id=contract.id,
                from_status=previous,
                to_status=step.target,
                actor=actor or uow.principal.actor,
                at=uow.now,
                reason=reason,
            ),
        )
    contract.status = step.target
    contract.version += 1
    contract.updated_at = uow.now
    if step.changes_state:
        TRANSITIONS.labels(previous, step.target).inc()
    log.info(f"contracts.{step.action}", contract_id=str(contract.id), previous=previous, status=step.target)
    return previous


def note(uow: UnitOfWork, contract: Contract, *, reason: str, actor: str | None = None) -> None:
    """A history row for a change that is no step of the machine (the enterprise moved): ``from``
    and ``to`` are both the current status, and the version moves on."""
    record(
        uow,
        contract,
        ContractHistory(
            contract_id=contract.id,
            from_status=contract.status,
            to_status=contract.status,
            actor=actor or uow.principal.actor,
            at=uow.now,
            reason=reason,
        ),
    )
    contract.version += 1
    contract.updated_at = uow.now


def record(uow: UnitOfWork, contract: Contract, row: ContractHistory) -> None:
    """A history row: appended to the contract's history when the transaction holds it (the
    response is built from it), else only added to the session (event cascades)."""
    if "history" in sa.inspect(contract).unloaded:
        uow.session.add(row)
    else:
        contract.history.append(row)


async def emit(
    uow: UnitOfWork,
    contract: Contract,
    event_type: EventType | None,
    *,
    reason: str | None = None,
    previous_status: ContractStatus | None = None,
) -> None:
    """Write ``event_type`` (a step's ``emits``; None: the step emits nothing) to the outbox."""
    if event_type is not None:
        payload = events.contract_changed(contract, reason=reason, previous_status=previous_status)
        # its enterprise's town: notify tells the town's bureau (SPEC §22)
        payload.town = await Enterprises(uow.session).town_of(contract.enterprise_uscc)
        await uow.emit(event_type, payload, subject=str(contract.id))


async def audit(uow: UnitOfWork, contract: Contract, *, action: str, **payload: Any) -> None:
    """A regulatory act on the hash-chained audit trail (filings, reviews, terminations)."""
    await uow.audit(
        action=action,
        entity_type="contract",
        entity_id=contract.id,
        payload={"version": contract.version, "status": str(contract.status), **payload},
    )


async def lock_agency(uow: UnitOfWork, agency_id: uuid.UUID) -> AgencyFacts:
    """The agency's read-model row, locked: the first lock of every write on its contracts."""
    agency = await Agencies(uow.session).find(agency_id, lock=True)
    assert agency is not None  # every contract's agency is known before the contract is created
    return agency


async def lock_parties_of(
    uow: UnitOfWork, contract_id: uuid.UUID, *, enterprise: bool
) -> tuple[AgencyFacts | None, EnterpriseFacts | None]:
    """The parties' rows of an existing contract, locked in the one order (agency, then the
    enterprise if ``enterprise``), each in one statement that reads the contract's keys itself:
    no read of the contract before the write transaction. None for a contract that does not
    exist (its ``get`` answers 404 next)."""
    agency = await Agencies(uow.session).of_contract(contract_id, lock=True)
    if agency is None or not enterprise:
        return agency, None
    return agency, await Enterprises(uow.session).of_contract(contract_id, lock=True)


async def lock_parties(
    uow: UnitOfWork, *, agency_id: uuid.UUID, enterprise_uscc: str
) -> tuple[AgencyFacts, EnterpriseFacts]:
    """Both parties' read-model rows, locked, agency first."""
    agency = await lock_agency(uow, agency_id)
    enterprise = await Enterprises(uow.session).find(enterprise_uscc, lock=True)
    assert enterprise is not None  # made known (service.facts) before the transaction
    return agency, enterprise
