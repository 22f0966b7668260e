"""Drafting a contract: creation under the creation rules, and amendments (which void signatures)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Forbidden
from shared.i18n import text
from shared.ids import new_id

from services.contracts import readmodels
from services.contracts.models import Contract, ContractHistory, Signature
from services.contracts.rules import Terms, meets_risk
from services.contracts.schemas import ContractAmend, ContractCreate
from services.contracts.service.core import (
    Precondition,
    _check_rules,
    _full,
    _load,
    _lock_facts,
    _require_party,
    _require_state,
    _require_visible,
    _services,
    note,
    transition,
)
from services.contracts.signatures import content_sha256

log = structlog.get_logger("contracts.service")


async def create_contract(ctx: ServiceContext, *, principal: Principal, body: ContractCreate,
                          authorization: str | None) -> dict[str, Any]:
    if principal.role == "enterprise":
        if not principal.is_org(body.enterprise_uscc):
            raise Forbidden(text("企业只能为本企业创建托管协议", "An enterprise may only create contracts for itself"))
    elif principal.role != "agency":
        raise Forbidden(text("托管协议由机构或企业一方发起", "A contract is created by the agency or the enterprise"))
    agency = await readmodels.resolve_agency(ctx.db, ctx.settings, body.agency_id, authorization)
    if principal.role == "agency" and not principal.is_org(agency.uscc):
        raise Forbidden(text("机构只能以本机构名义创建托管协议", "An agency may only create contracts in its own name"))
    await readmodels.resolve_enterprise(ctx.db, ctx.settings, body.enterprise_uscc, authorization)

    now = ctx.clock.now()
    services = _services(body.services)
    terms = Terms(engineer_name=body.engineer_name, services=services, start_date=body.start_date, end_date=body.end_date)
    async with ctx.db.transaction() as session:
        await _lock_facts(session, agency_id=body.agency_id, enterprise_uscc=body.enterprise_uscc)
        agency = await readmodels.agency_in_model(session, body.agency_id)
        enterprise = await readmodels.enterprise_in_model(session, body.enterprise_uscc)
        assert agency is not None and enterprise is not None
        await _check_rules(ctx, session, agency=agency, enterprise=enterprise, terms=terms, exclude=None)
        contract = Contract(
            id=new_id(), status="draft", version=1, enterprise_uscc=enterprise.uscc, enterprise_id=enterprise.id,
            enterprise_name=enterprise.name, district_code=enterprise.district_code, agency_id=body.agency_id,
            agency_uscc=agency.uscc, agency_name=agency.name, engineer_name=body.engineer_name, services=services,
            start_date=body.start_date, end_date=body.end_date, fee_yuan=body.fee_yuan, risk_flagged=False,
            created_by=principal.actor, created_at=now, updated_at=now,
        )
        session.add(contract)
        session.add(ContractHistory(contract_id=contract.id, from_status=None, to_status="draft", actor=principal.actor,
                                    at=now, reason=None))
        await session.flush()
        result = await _full(session, contract)
    log.info("contracts.created", contract_id=str(contract.id), actor=principal.actor)
    return result


async def amend_contract(ctx: ServiceContext, *, principal: Principal, contract_id: uuid.UUID, body: ContractAmend,
                         precondition: Precondition, authorization: str | None) -> dict[str, Any]:
    async with ctx.db.reader() as session:
        peek = _require_visible(principal, await _load(session, contract_id, lock=False))
    await readmodels.resolve_agency(ctx.db, ctx.settings, peek.agency_id, authorization)
    await readmodels.resolve_enterprise(ctx.db, ctx.settings, peek.enterprise_uscc, authorization)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await _lock_facts(session, agency_id=peek.agency_id, enterprise_uscc=peek.enterprise_uscc)
        contract = _require_visible(principal, await _load(session, contract_id, lock=True))
        _require_party(principal, contract)
        if precondition:
            precondition(contract.version)
        _require_state(contract, "amend")
        before = content_sha256(contract)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if "services" in changes:
            changes["services"] = _services(body.services)
        merged = {key: changes.get(key, getattr(contract, key))
                  for key in ("engineer_name", "services", "start_date", "end_date", "fee_yuan")}
        terms = Terms(engineer_name=merged["engineer_name"], services=merged["services"], start_date=merged["start_date"],
                      end_date=merged["end_date"])
        agency = await readmodels.agency_in_model(session, contract.agency_id)
        enterprise = await readmodels.enterprise_in_model(session, contract.enterprise_uscc)
        assert agency is not None and enterprise is not None
        # the rules run on the would-be terms before anything is changed (nothing invalid is flushed)
        await _check_rules(ctx, session, agency=agency, enterprise=enterprise, terms=terms, exclude=contract.id)
        for key, value in changes.items():
            setattr(contract, key, value)
        changed = content_sha256(contract) != before
        if contract.status == "draft" and not changed:
            return await _full(session, contract)  # nothing to amend: no new version
        voided = (await session.execute(
            sa.update(Signature).where(Signature.contract_id == contract.id, Signature.voided_at.is_(None))
            .values(voided_at=now))).rowcount
        reason = "修改条款 / terms amended" + (f"；{voided} 个签名作废 / {voided} signature(s) voided" if voided else "")
        contract.risk_flagged = not meets_risk(contract.services, enterprise.risk_level, ctx.policy)
        if contract.status == "rejected":
            contract.review_comments = None
            await transition(session, ctx.outbox, contract, "draft", actor=principal.actor, at=now, reason=reason)
        else:
            note(session, contract, actor=principal.actor, at=now, reason=reason)
        await session.flush()
        return await _full(session, contract)
