"""Signatures, filing, the filing review, termination and cancellation."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import ErrorCode, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.i18n import text
from shared.ids import new_id

from services.contracts import readmodels
from services.contracts.models import Signature
from services.contracts.schemas import FilingReview
from services.contracts.service.core import (
    Precondition,
    _audit,
    _full,
    _load,
    _lock_facts,
    _require_party,
    _require_state,
    _require_visible,
    engineer_load,
    next_filing_no,
    party_of,
    terminate,
    transition,
)
from services.contracts.signatures import content_sha256

log = structlog.get_logger("contracts.service")


async def sign_contract(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID,
                        precondition: Precondition) -> dict[str, Any]:
    async with ctx.db.reader() as session:
        peek = _require_visible(principal, await _load(session, contract_id, lock=False))
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await _lock_facts(session, agency_id=peek.agency_id)
        contract = _require_visible(principal, await _load(session, contract_id, lock=True))
        party = _require_party(principal, contract)
        if precondition:
            precondition(contract.version)
        _require_state(contract, "sign")
        current = (await session.execute(sa.select(Signature.party).where(
            Signature.contract_id == contract.id, Signature.voided_at.is_(None)))).scalars().all()
        if party in current:
            raise Conflict(text("本方已签署该协议", "Your party has already signed this contract"), code=ErrorCode.ALREADY_SIGNED,
                           extra={"party": party})
        digest = content_sha256(contract)
        session.add(Signature(id=new_id(), contract_id=contract.id, party=party, account_id=principal.subject,
                              actor=principal.actor, signed_at=now, content_sha256=digest))
        if len(set(current) | {party}) == 2:
            agency = await readmodels.agency_in_model(session, contract.agency_id)
            if agency is None or not agency.in_force:
                raise ValidationFailed(text("该机构已不在备案有效状态，不能签订协议", "The agency is no longer approved"),
                                       code=ErrorCode.AGENCY_NOT_APPROVED, errors=[FieldError("agency_id", text("机构未备案", "not approved"))])
            load = await engineer_load(session, agency_id=contract.agency_id, engineer_name=contract.engineer_name,
                                       exclude=contract.id)
            if load >= ctx.policy.max_enterprises_per_engineer:
                raise ValidationFailed(text(f"{contract.engineer_name} 已达服务企业上限", f"{contract.engineer_name} is at capacity"),
                                       code=ErrorCode.ENGINEER_AT_CAPACITY,
                                       errors=[FieldError("engineer_name", text("工程师已满额", "engineer at capacity"))])
            await transition(session, ctx.outbox, contract, "signed", actor=principal.actor, at=now,
                             reason="双方已签署 / signed by both parties")
        else:
            contract.version += 1
            contract.updated_at = now
        await session.flush()
        log.info("contracts.signature.recorded", contract_id=str(contract.id), party=party)
        return await _full(session, contract)


async def submit_for_filing(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID,
                            precondition: Precondition) -> dict[str, Any]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        contract = _require_visible(principal, await _load(session, contract_id, lock=True))
        _require_party(principal, contract)
        if precondition:
            precondition(contract.version)
        _require_state(contract, "file")
        await transition(session, ctx.outbox, contract, "filing", actor=principal.actor, at=now,
                         reason="提交备案 / submitted for filing")
        await _audit(ctx, session, contract, action="contract.filing.submitted", actor=principal.actor, at=now,
                     payload={"content_sha256": content_sha256(contract)})
        return await _full(session, contract)


async def review_filing(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID, body: FilingReview,
                        precondition: Precondition) -> dict[str, Any]:
    now = ctx.clock.now()
    comments = body.comments or None
    if body.decision == "reject" and not comments:
        raise ValidationFailed(text("退回备案须填写意见", "A rejection needs comments"), code=ErrorCode.COMMENTS_REQUIRED,
                               errors=[FieldError("comments", text("退回时必填", "required when rejecting"))])
    async with ctx.db.reader() as session:
        peek = await _load(session, contract_id, lock=False)
    if peek is None:
        raise NotFound(text("托管协议不存在", "No such contract"))
    async with ctx.db.transaction() as session:
        # The agency's row first: an agency.suspended/revoked cascade running now either sees this
        # contract filed or we see the agency suspended — never a filed contract that escapes it.
        await _lock_facts(session, agency_id=peek.agency_id)
        contract = await _load(session, contract_id, lock=True)
        assert contract is not None
        if not principal.governs(contract.district_code):
            raise Forbidden(text("仅企业所在区县的应急管理局或市局可以审查备案",
                                 "Only the bureau of the enterprise's district or the city bureau may review the filing"))
        if precondition:
            precondition(contract.version)
        _require_state(contract, "review")
        contract.review_comments = comments
        if body.decision == "reject":
            await transition(session, ctx.outbox, contract, "rejected", actor=principal.actor, at=now, reason=comments)
            await _audit(ctx, session, contract, action="contract.filing.rejected", actor=principal.actor, at=now,
                         payload={"comments": comments})
        else:
            agency = await readmodels.agency_in_model(session, contract.agency_id)
            if agency is None or not agency.in_force:
                status = agency.status if agency else "unknown"
                raise ValidationFailed(text(f"该机构当前状态为 {status}，不能予以备案", f"The agency is {status}; the contract cannot be filed"),
                                       code=ErrorCode.AGENCY_NOT_APPROVED,
                                       errors=[FieldError("agency_id", text("机构未处于备案有效状态", "agency not approved"))])
            contract.filing_no = await next_filing_no(session, ctx.clock.today().year)
            contract.filed_at = now
            await transition(session, ctx.outbox, contract, "filed", actor=principal.actor, at=now, reason=comments)
            await _audit(ctx, session, contract, action="contract.filing.accepted", actor=principal.actor, at=now,
                         payload={"filing_no": contract.filing_no, "comments": comments,
                                  "content_sha256": content_sha256(contract)})
            if contract.start_date <= ctx.clock.today():
                await transition(session, ctx.outbox, contract, "active", actor=principal.actor, at=now,
                                 reason="开始日期已到 / start date reached")
        return await _full(session, contract)


async def terminate_contract(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID, reason: str,
                             precondition: Precondition) -> dict[str, Any]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        contract = _require_visible(principal, await _load(session, contract_id, lock=True))
        if party_of(principal, contract) is None and not principal.governs(contract.district_code):
            raise Forbidden(text("仅协议双方或主管应急管理局可以终止协议", "Only a party or the governing bureau may terminate"))
        if precondition:
            precondition(contract.version)
        _require_state(contract, "terminate")
        await terminate(session, ctx.outbox, ctx.infra.audit_trail, contract, actor=principal.actor, at=now, reason=reason)
        return await _full(session, contract)



async def cancel_contract(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID, reason: str | None,
                          precondition: Precondition) -> dict[str, Any]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        contract = _require_visible(principal, await _load(session, contract_id, lock=True))
        _require_party(principal, contract)
        if precondition:
            precondition(contract.version)
        _require_state(contract, "cancel")
        contract.end_reason = reason
        await transition(session, ctx.outbox, contract, "cancelled", actor=principal.actor, at=now, reason=reason)
        return await _full(session, contract)
