"""Drafting a contract: creation under the creation rules (service.rules), and amendments — which
run the same rules on the would-be terms and void every signature over the old ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from services.contracts.models import AgencyFacts, Contract, ContractHistory, EnterpriseFacts, Party
from services.contracts.repository import Agencies, Contracts, EnterpriseCredits, Enterprises
from services.contracts.schemas import ContractAmend, ContractCreate, ServiceLine
from services.contracts.service import facts, steps
from services.contracts.service.rules import Proposal, Terms, check_terms, meets_risk, raise_violations
from services.contracts.states import AMEND, CONTRACT, ContractStatus
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.ids import new_id
from shared.uow import UnitOfWork

TERM_FIELDS = ("engineer_name", "services", "start_date", "end_date", "fee_yuan")


def stored_services(lines: Sequence[ServiceLine]) -> list[dict[str, Any]]:
    """Service lines as the contract keeps them (and as its terms are hashed)."""
    return [{"item": str(line.item), "times_per_year": line.times_per_year} for line in lines]


async def create_contract(uow: UnitOfWork, *, body: ContractCreate, token: str | None) -> Contract:
    """A new draft (SPEC §9), by one of its parties in its own name; ``contract.drafted``.

    The parties are read (and locked) inside the write transaction; one the read models do not
    know yet is fetched from its owner between two attempts (facts.PartyUnknown)."""
    Contracts.check_may_draft(uow.principal, enterprise_uscc=body.enterprise_uscc)
    for _attempt in range(2):  # each party is fetched at most once
        try:
            return await _draft(uow, body=body)
        except facts.PartyUnknown as unknown:
            await facts.learn(uow, unknown, token)
    return await _draft(uow, body=body)


async def _draft(uow: UnitOfWork, *, body: ContractCreate) -> Contract:
    principal = uow.principal
    services = stored_services(body.services)
    terms = Terms(
        engineer_name=body.engineer_name, services=services, start_date=body.start_date, end_date=body.end_date
    )
    async with uow:
        agency = await Agencies(uow.session).find(body.agency_id, lock=True)
        if agency is None:
            raise facts.agency_unknown(body.agency_id)
        Contracts.check_may_draft(principal, enterprise_uscc=body.enterprise_uscc, agency_uscc=agency.uscc)
        enterprise = await Enterprises(uow.session).find(body.enterprise_uscc, lock=True)
        if enterprise is None:
            raise facts.enterprise_unknown(body.enterprise_uscc)
        await check_rules(uow, agency=agency, enterprise=enterprise, terms=terms, exclude=None)
        now = uow.now
        contract = Contracts.new_details(
            Contract(
                id=new_id(),
                status=ContractStatus.DRAFT,
                version=1,
                enterprise_uscc=enterprise.uscc,
                enterprise_id=enterprise.id,
                enterprise_name=enterprise.name,
                district_code=enterprise.district_code,
                agency_id=agency.id,
                agency_uscc=agency.uscc,
                agency_name=agency.name,
                engineer_name=body.engineer_name,
                services=services,
                start_date=body.start_date,
                end_date=body.end_date,
                fee_yuan=body.fee_yuan,
                risk_flagged=False,
                drafted_by=Party(principal.role),
                created_by=principal.actor,
                created_at=now,
                updated_at=now,
            )
        )
        uow.session.add(contract)
        steps.record(
            uow,
            contract,
            ContractHistory(
                contract_id=contract.id, from_status=None, to_status=ContractStatus.DRAFT, actor=principal.actor, at=now
            ),
        )
        await steps.emit(uow, contract, EventType.CONTRACT_DRAFTED)  # no step of the machine: the contract begins
    steps.log.info("contracts.drafted", contract_id=str(contract.id), actor=principal.actor)
    return contract


async def amend_contract(
    uow: UnitOfWork, *, contract_id: uuid.UUID, body: ContractAmend, if_match: Precondition, token: str | None
) -> Contract:
    """Change the terms of a draft or a rejected filing (back to a draft); signatures are voided."""
    async with uow.read():
        peek = await Contracts(uow.session).get(contract_id, uow.principal)
    await facts.known_agency(uow, agency_id=peek.agency_id, token=token)
    await facts.known_enterprise(uow, uscc=peek.enterprise_uscc, token=token)
    async with uow:
        agency, enterprise = await steps.lock_parties(
            uow, agency_id=peek.agency_id, enterprise_uscc=peek.enterprise_uscc
        )
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, uow.principal, write=True)
        steps.authorize(AMEND, uow.principal)
        if_match.check(contract.version)
        step = CONTRACT.step(AMEND, contract.status, uow.principal.role)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if body.services is not None:
            changes["services"] = stored_services(body.services)
        merged = {key: changes.get(key, getattr(contract, key)) for key in TERM_FIELDS}
        terms = Terms(
            engineer_name=merged["engineer_name"],
            services=merged["services"],
            start_date=merged["start_date"],
            end_date=merged["end_date"],
        )
        # the rules run on the would-be terms before anything changes (nothing invalid is flushed)
        await check_rules(uow, agency=agency, enterprise=enterprise, terms=terms, exclude=contract.id)
        before = contract.content_sha256
        for key, value in changes.items():
            setattr(contract, key, value)
        if contract.status == ContractStatus.DRAFT and contract.content_sha256 == before:
            return contract  # nothing to amend: no new version
        voided = contract.signatures
        for signature in voided:
            signature.voided_at = uow.now
        reason = "修改条款 / terms amended" + (
            f"；{len(voided)} 个签名作废 / {len(voided)} signature(s) voided" if voided else ""
        )
        grade = await EnterpriseCredits(uow.session).grade_of(enterprise.uscc)
        contract.risk_flagged = not meets_risk(contract.services, enterprise.risk_level, uow.policy, grade)
        contract.review_comments = None
        previous = steps.take(uow, contract, step, reason=reason)
        await steps.emit(uow, contract, step.emits, reason=reason, previous_status=previous)
        return contract


async def check_rules(
    uow: UnitOfWork, *, agency: AgencyFacts, enterprise: EnterpriseFacts, terms: Terms, exclude: uuid.UUID | None
) -> None:
    """422 naming every creation rule ``terms`` break, counted in this transaction (one statement)."""
    facts_now = await Contracts(uow.session).rule_facts(
        agency_id=agency.id,
        agency_uscc=agency.uscc,
        enterprise_uscc=enterprise.uscc,
        engineer_name=terms.engineer_name,
        start=terms.start_date,
        end=terms.end_date,
        exclude=exclude,
    )
    raise_violations(
        check_terms(
            Proposal(
                agency=agency,
                enterprise=enterprise,
                terms=terms,
                policy=uow.policy,
                engineer_load=int(facts_now.engineer_load),
                overlapping=int(facts_now.overlapping),
                last_evaluation=facts_now.last_evaluation,
                credit_listed=bool(facts_now.credit_listed),
                credit_grade=facts_now.credit_grade,
            )
        )
    )
