"""Shared building blocks of the contract service functions: authorization, locks, transitions,
history, rules, reading.

Contract lifecycle (SPEC §9): domain functions with keyword-only arguments and no HTTP types.

Each write is one transaction: lock what is read-then-written, check the state, change it, write
the history row and the event (outbox) — and, for regulatory acts, the audit-trail link.

Locks are always taken in the order agency facts → enterprise facts → contract (the event
consumers take the facts row first too), so that concurrent writers on PostgreSQL queue behind
each other instead of deadlocking; on SQLite every write transaction is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceContext
from shared.audit_trail import append as audit_append
from shared.auth import Principal
from shared.clock import as_utc
from shared.db import next_in_sequence
from shared.errors import ErrorCode, Conflict, Forbidden, InvalidTransition, NotFound
from shared.events.outbox import Outbox
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of
from shared.reference import load_jurisdiction

from services.contracts import readmodels
from services.contracts.events import EVENT_OF_STATUS, emit
from services.contracts.models import Contract, ContractHistory, FilingCounter, Signature
from services.contracts.rules import (
    ENGINEER_LOAD_STATES,
    NON_TERMINAL_STATES,
    AgencyFact,
    EnterpriseFact,
    Terms,
    check_terms,
    raise_violations,
)
from services.contracts.signatures import content_sha256, terms_of

log = structlog.get_logger("contracts.service")
TRANSITIONS = Counter("custody_contract_transitions_total", "Contract status transitions", ["from_status", "to_status"])

Precondition = Callable[[int], None] | None

ACTION_NAMES = {
    "sign": ("签署", "sign"), "file": ("提交备案", "submit for filing"), "review": ("备案审查", "review the filing"),
    "terminate": ("终止", "terminate"), "cancel": ("撤销", "cancel"), "amend": ("修改条款", "amend the terms"),
}
ALLOWED_FROM = {
    "sign": ("draft",),
    "file": ("signed",),
    "review": ("filing",),
    "terminate": ("filed", "active", "suspended"),
    "cancel": ("draft",),
    "amend": ("draft", "rejected"),
}

class ContractTransitionError(InvalidTransition):
    def __init__(self, current: str, action: str) -> None:
        zh, en = ACTION_NAMES[action]
        Conflict.__init__(self, text(f"托管协议当前状态为 {current}，不能{zh}", f"The contract is {current}; cannot {en}"),
                          code=ErrorCode.INVALID_TRANSITION, extra={"current_status": current, "action": action})


def _require_state(contract: Contract, action: str) -> None:
    if contract.status not in ALLOWED_FROM[action]:
        raise ContractTransitionError(contract.status, action)


# --- authorization ---------------------------------------------------------------------------
def party_of(principal: Principal, contract: Contract) -> str | None:
    if principal.role == "agency" and principal.is_org(contract.agency_uscc):
        return "agency"
    if principal.role == "enterprise" and principal.is_org(contract.enterprise_uscc):
        return "enterprise"
    return None


def can_see(principal: Principal, contract: Contract) -> bool:
    return principal.governs(contract.district_code) or party_of(principal, contract) is not None


def _require_party(principal: Principal, contract: Contract) -> str:
    party = party_of(principal, contract)
    if party is None:
        raise Forbidden(text("仅协议双方（机构或企业）可以执行此操作", "Only a party to the contract (agency or enterprise) may do this"))
    return party


def _require_visible(principal: Principal, contract: Contract | None) -> Contract:
    if contract is None:
        raise NotFound(text("托管协议不存在", "No such contract"))
    if not can_see(principal, contract):
        raise Forbidden(text("无权访问该托管协议", "You may not access this contract"))
    return contract


# --- building blocks -----------------------------------------------------------------------
async def _load(session: AsyncSession, contract_id: uuid.UUID, *, lock: bool) -> Contract | None:
    stmt = sa.select(Contract).where(Contract.id == contract_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def _lock_facts(session: AsyncSession, *, agency_id: uuid.UUID | None = None, enterprise_uscc: str | None = None) -> None:
    if agency_id is not None:
        t = readmodels.AGENCY_TABLE
        await session.execute(sa.select(t.c.id).where(t.c.id == agency_id).with_for_update())
    if enterprise_uscc is not None:
        t = readmodels.ENTERPRISE_TABLE
        await session.execute(sa.select(t.c.uscc).where(t.c.uscc == enterprise_uscc).with_for_update())


def note(session: AsyncSession, contract: Contract, *, actor: str, at: datetime, reason: str) -> None:
    """A history row for a step that does not change the status (signatures voided, a risk flag):
    ``from`` and ``to`` are both the current status, and the version moves on."""
    session.add(ContractHistory(contract_id=contract.id, from_status=contract.status, to_status=contract.status,
                                actor=actor, at=at, reason=reason))
    contract.version += 1
    contract.updated_at = at


async def transition(session: AsyncSession, outbox: Outbox, contract: Contract, to: str, *, actor: str, at: datetime,
                     reason: str | None = None) -> None:
    """Move the contract to ``to``: version, history row and the event of the new status."""
    previous = contract.status
    session.add(ContractHistory(contract_id=contract.id, from_status=previous, to_status=to, actor=actor, at=at, reason=reason))
    contract.status = to
    contract.version += 1
    contract.updated_at = at
    await session.flush()
    event_type = EVENT_OF_STATUS.get(to)
    if event_type:
        await emit(outbox, session, event_type, contract, reason=reason, previous_status=previous)
    TRANSITIONS.labels(previous, to).inc()
    log.info(f"contracts.{to}", contract_id=str(contract.id), previous=previous, actor=actor)


async def _audit(ctx: ServiceContext, session: AsyncSession, contract: Contract, *, action: str, actor: str, at: datetime,
                 payload: dict[str, Any]) -> None:
    await audit_append(session, ctx.infra.audit_trail, at=at, actor=actor, action=action, entity_type="contract",
                       entity_id=str(contract.id), payload={"version": contract.version, "status": contract.status, **payload})


async def engineer_load(session: AsyncSession, *, agency_id: uuid.UUID, engineer_name: str, exclude: uuid.UUID | None) -> int:
    stmt = sa.select(sa.func.count()).select_from(Contract).where(
        Contract.agency_id == agency_id, Contract.engineer_name == engineer_name, Contract.status.in_(ENGINEER_LOAD_STATES))
    if exclude is not None:
        stmt = stmt.where(Contract.id != exclude)
    return int((await session.execute(stmt)).scalar_one())


async def overlapping(session: AsyncSession, *, enterprise_uscc: str, start, end, exclude: uuid.UUID | None) -> int:  # noqa: ANN001
    stmt = sa.select(sa.func.count()).select_from(Contract).where(
        Contract.enterprise_uscc == enterprise_uscc, Contract.status.in_(NON_TERMINAL_STATES),
        Contract.start_date <= end, Contract.end_date >= start)
    if exclude is not None:
        stmt = stmt.where(Contract.id != exclude)
    return int((await session.execute(stmt)).scalar_one())


async def _check_rules(ctx: ServiceContext, session: AsyncSession, *, agency: AgencyFact, enterprise: EnterpriseFact,
                       terms: Terms, exclude: uuid.UUID | None) -> None:
    load = await engineer_load(session, agency_id=uuid.UUID(agency.id), engineer_name=terms.engineer_name, exclude=exclude)
    overlaps = await overlapping(session, enterprise_uscc=enterprise.uscc, start=terms.start_date, end=terms.end_date, exclude=exclude)
    raise_violations(check_terms(agency=agency, enterprise=enterprise, terms=terms, policy=ctx.policy,
                                 engineer_load=load, overlapping=overlaps))


def _services(lines: Any) -> list[dict[str, Any]]:
    return [{"item": str(getattr(line, "item", None) or line["item"]),
             "times_per_year": int(getattr(line, "times_per_year", None) or line["times_per_year"])} for line in lines]


async def next_filing_no(session: AsyncSession, year: int) -> str:
    number = await next_in_sequence(session, FilingCounter.__table__, key="year", key_value=year, counter="value")
    return load_jurisdiction().filing_no("HT", year, number, width=6)  # 托管合同: JM-HT-2026-000001


# --- reading ---------------------------------------------------------------------------------
def _summary(c: Contract) -> dict[str, Any]:
    return {
        "id": c.id, "status": c.status, "version": c.version, "enterprise_uscc": c.enterprise_uscc,
        "enterprise_id": c.enterprise_id, "enterprise_name": c.enterprise_name, "district_code": c.district_code,
        "agency_id": c.agency_id, "agency_uscc": c.agency_uscc, "agency_name": c.agency_name,
        "engineer_name": c.engineer_name, "services": c.services, "start_date": c.start_date, "end_date": c.end_date,
        "fee_yuan": c.fee_yuan, "filing_no": c.filing_no, "risk_flagged": c.risk_flagged,
        "previous_status": c.previous_status, "created_at": as_utc(c.created_at), "updated_at": as_utc(c.updated_at),
        "filed_at": as_utc(c.filed_at),
    }


async def _full(session: AsyncSession, c: Contract) -> dict[str, Any]:
    history = (await session.execute(
        sa.select(ContractHistory).where(ContractHistory.contract_id == c.id).order_by(ContractHistory.seq))).scalars().all()
    signatures = (await session.execute(
        sa.select(Signature).where(Signature.contract_id == c.id).order_by(Signature.signed_at, Signature.party))).scalars().all()

    def sig(s: Signature) -> dict[str, Any]:
        return {"party": s.party, "account_id": s.account_id, "actor": s.actor, "signed_at": as_utc(s.signed_at),
                "content_sha256": s.content_sha256, "voided_at": as_utc(s.voided_at)}

    return {
        **_summary(c),
        "content_sha256": content_sha256(c),
        "terms": terms_of(c),
        "review_comments": c.review_comments,
        "end_reason": c.end_reason,
        "expiring_notified_at": as_utc(c.expiring_notified_at),
        "signatures": [sig(s) for s in signatures if s.voided_at is None],
        "voided_signatures": [sig(s) for s in signatures if s.voided_at is not None],
        "history": [{"from": h.from_status, "to": h.to_status, "actor": h.actor, "at": as_utc(h.at), "reason": h.reason}
                    for h in history],
    }


async def get_contract(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.db.reader() as session:
        contract = _require_visible(principal, await _load(session, contract_id, lock=False))
        return await _full(session, contract)


async def list_contracts(ctx: ServiceContext, *, principal: Principal, page: PageParams, status: str | None = None,
                         agency_id: uuid.UUID | None = None, enterprise_uscc: str | None = None,
                         district: str | None = None, risk_flagged: bool | None = None) -> dict[str, Any]:
    stmt = sa.select(Contract)
    if principal.sees_everything:
        pass
    elif principal.is_bureau:
        stmt = stmt.where(Contract.district_code == principal.district)
    elif principal.role == "agency":
        stmt = stmt.where(Contract.agency_uscc == (principal.org_uscc or ""))
    elif principal.role == "enterprise":
        stmt = stmt.where(Contract.enterprise_uscc == (principal.org_uscc or ""))
    else:
        raise Forbidden(text("无权查看托管协议", "You may not list contracts"))
    if status:
        stmt = stmt.where(Contract.status == status)
    if agency_id:
        stmt = stmt.where(Contract.agency_id == agency_id)
    if enterprise_uscc:
        stmt = stmt.where(Contract.enterprise_uscc == enterprise_uscc)
    if district:
        stmt = stmt.where(Contract.district_code == district)
    if risk_flagged is not None:
        stmt = stmt.where(Contract.risk_flagged == risk_flagged)
    stmt = keyset(stmt, [Contract.id], page, descending=True, convert=[uuid.UUID])
    async with ctx.db.reader() as session:
        rows = (await session.execute(stmt)).scalars().all()
    items, cursor = page_of(rows, page, lambda c: [str(c.id)])
    return {"items": [_summary(c) for c in items], "next_cursor": cursor}

async def terminate(session: AsyncSession, outbox: Outbox, audit_table: sa.Table, contract: Contract, *, actor: str,
                    at: datetime, reason: str) -> None:
    """→ terminated (by a party, a bureau, or the agency's revocation), on the audit trail too."""
    contract.end_reason = reason
    contract.previous_status = None
    await transition(session, outbox, contract, "terminated", actor=actor, at=at, reason=reason)
    await audit_append(session, audit_table, at=at, actor=actor, action="contract.terminated", entity_type="contract",
                       entity_id=str(contract.id), payload={"version": contract.version, "reason": reason})
