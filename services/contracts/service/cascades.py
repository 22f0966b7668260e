"""What other services' events do to contracts (called by consumers.py, in the inbox's unit of
work: exactly once per event id). Each first updates the read model under the one rule —
strictly newer versions apply — and a stale or duplicate event changes nothing, cascades included.

- an agency suspended: its filed and active contracts → ``suspended`` (``previous_status`` kept);
  reinstated: back to where they were; revoked: its filed, active and suspended contracts →
  ``terminated``. Which contracts: the states the machine lets the step leave.
- an enterprise with another name or district: its live contracts follow (a history note, no
  event: the contract events carry both on their next change); with a risk level whose minimum
  inspections a live contract no longer meets: ``risk_flagged`` and ``contract.flagged``, and when
  a later level is met again the flag is cleared and ``contract.flagged`` says so
  (``risk_flagged: false``), so that read models stay true.
- an enterprise's credit grade (``enterprise.credit_changed``, SPEC §19): graded D, it needs the
  hazard-inspection frequency of the next higher risk level (``rules.inspection_level``); its live
  contracts are flagged (or cleared) by the same rule as for a risk change.
- an agency's filing expired: its live contracts are flagged (``agency_lapsed``,
  ``contract.flagged``) for the bureau; an approval (renewal) clears it (SPEC §18).
- an agency's serious-dishonesty listing (``credit.*``): while it is in force (listed, repairable,
  repair requested) a new contract with the agency is refused (422 ``credit_listed``, rules.py);
  contracts already made are not touched (SPEC §19 says "new contracts").
"""

from __future__ import annotations

import uuid

import structlog

from services.contracts.models import AgencyStatus, Contract, FactSource
from services.contracts.repository import (
    Agencies,
    Contracts,
    CreditListings,
    Engagements,
    EnterpriseCredits,
    Enterprises,
)
from services.contracts.service import steps
from services.contracts.service.facts import agency_values, enterprise_values
from services.contracts.service.lifecycle import terminate
from services.contracts.service.rules import inspection_level, meets_risk
from services.contracts.states import CONTRACT, FLAG, REINSTATE, SUSPEND, TERMINATE, ContractStatus
from shared.events.catalog import (
    AgencyStatusChanged,
    CreditListingChanged,
    EngagementDeclared,
    EnterpriseChanged,
    EnterpriseCreditChanged,
    EventType,
)
from shared.uow import UnitOfWork

log = structlog.get_logger("contracts.cascades")


def _reason(zh: str, en: str, detail: str | None) -> str:
    return f"{zh} / {en}" + (f": {detail}" if detail else "")


async def follow_agency(uow: UnitOfWork, *, event_type: EventType, agency: AgencyStatusChanged) -> None:
    """Apply an ``agency.*`` status event to the read model, then to the agency's contracts."""
    agencies = Agencies(uow.session)
    held = await agencies.find(uuid.UUID(agency.id), lock=True)
    previous = held.status if held is not None else None
    if not await agencies.apply(agency_values(agency.model_dump(), FactSource.EVENT)):
        log.info("contracts.agency_event.stale", agency_id=agency.id, version=agency.version)
        return
    actor, status = f"system:{event_type}", agency.status
    agency_id = uuid.UUID(agency.id)
    contracts = Contracts(uow.session)
    if event_type == EventType.AGENCY_SUSPENDED or (status == AgencyStatus.SUSPENDED and previous != status):
        reason = _reason("机构备案被暂停", "agency suspended", agency.reason)
        for contract in await contracts.of_agency(agency_id, CONTRACT.sources_of(SUSPEND)):
            step = CONTRACT.step(SUSPEND, contract.status, uow.principal.role)
            contract.previous_status = contract.status
            left = steps.take(uow, contract, step, reason=reason, actor=actor)
            await steps.emit(uow, contract, step.emits, reason=reason, previous_status=left)
    elif event_type == EventType.AGENCY_REINSTATED or (
        status == AgencyStatus.APPROVED and previous == AgencyStatus.SUSPENDED
    ):
        reason = _reason("机构恢复备案", "agency reinstated", agency.reason)
        for contract in await contracts.of_agency(agency_id, CONTRACT.sources_of(REINSTATE)):
            back = ContractStatus(contract.previous_status or ContractStatus.ACTIVE)
            step = CONTRACT.step(REINSTATE, contract.status, uow.principal.role, to=back)
            contract.previous_status = None
            left = steps.take(uow, contract, step, reason=reason, actor=actor)
            await steps.emit(uow, contract, step.emits, reason=reason, previous_status=left)
    elif event_type == EventType.AGENCY_REVOKED or status == AgencyStatus.REVOKED:
        reason = _reason("机构备案被撤销", "agency revoked", agency.reason)
        for contract in await contracts.of_agency(agency_id, CONTRACT.sources_of(TERMINATE)):
            await terminate(uow, contract, reason=reason, actor=actor)
    await _follow_filing(uow, contracts, agency_id, agency, actor=actor)


async def _follow_filing(
    uow: UnitOfWork, contracts: Contracts, agency_id: uuid.UUID, agency: AgencyStatusChanged, *, actor: str
) -> None:
    """An agency whose filing expired: its live contracts are flagged for the bureau
    (``agency_lapsed``, ``contract.flagged`` with the reason); a renewal in force clears it."""
    lapsed = agency.status == AgencyStatus.EXPIRED
    if not lapsed and not (agency.status == AgencyStatus.APPROVED or agency.filing_in_force):
        return
    reason = (
        _reason("机构备案已过期，请主管局关注其在履行的协议", "agency filing expired", agency.reason)
        if lapsed
        else _reason("机构备案已续期，解除标记", "agency filing renewed: flag cleared", None)
    )
    for contract in await contracts.of_agency(agency_id, CONTRACT.sources_of(FLAG)):
        if contract.agency_lapsed == lapsed:
            continue
        step = CONTRACT.step(FLAG, contract.status, uow.principal.role)
        contract.agency_lapsed = lapsed
        steps.take(uow, contract, step, reason=reason, actor=actor)
        await steps.emit(uow, contract, step.emits, reason=reason)


async def follow_enterprise(uow: UnitOfWork, *, event_type: EventType, enterprise: EnterpriseChanged) -> None:
    """Apply an ``enterprise.*`` event to the read model, then to the enterprise's live contracts."""
    if not await Enterprises(uow.session).apply(enterprise_values(enterprise.model_dump(), FactSource.EVENT)):
        log.info("contracts.enterprise_event.stale", uscc=enterprise.uscc, version=enterprise.version)
        return
    actor = f"system:{event_type}"
    grade = await EnterpriseCredits(uow.session).grade_of(enterprise.uscc)
    for contract in await Contracts(uow.session).of_enterprise(enterprise.uscc, CONTRACT.sources_of(FLAG)):
        _follow_move(uow, contract, enterprise, actor=actor)
        await _follow_risk(uow, contract, enterprise.risk_level, grade, actor=actor)


async def follow_enterprise_credit(uow: UnitOfWork, *, credit: EnterpriseCreditChanged) -> None:
    """Keep the enterprise's credit grade; its live contracts meet the frequency it now needs, or
    are flagged (a grade into or out of D; other changes flag nothing)."""
    held = await EnterpriseCredits(uow.session).apply(
        {"uscc": credit.uscc, "grade": credit.grade, "version": credit.version, "updated_at": uow.now}
    )
    if not held:
        log.info("contracts.enterprise_credit.stale", uscc=credit.uscc, version=credit.version)
        return
    enterprise = await Enterprises(uow.session).find(credit.uscc)
    if enterprise is None:
        return  # its contracts come after its facts: they are checked against the grade then
    actor = f"system:{EventType.ENTERPRISE_CREDIT_CHANGED}"
    for contract in await Contracts(uow.session).of_enterprise(credit.uscc, CONTRACT.sources_of(FLAG)):
        await _follow_risk(uow, contract, enterprise.risk_level, credit.grade, actor=actor)


def _follow_move(uow: UnitOfWork, contract: Contract, enterprise: EnterpriseChanged, *, actor: str) -> None:
    """The filing bureau and the bureaus' view follow the enterprise's current district."""
    now_known = (enterprise.name, enterprise.district_code)
    if (contract.enterprise_name, contract.district_code) == now_known:
        return
    steps.note(
        uow,
        contract,
        actor=actor,
        reason=(
            f"企业信息变更 / enterprise changed: {contract.enterprise_name} {contract.district_code}"
            f" → {enterprise.name} {enterprise.district_code}"
        ),
    )
    contract.enterprise_name, contract.district_code = now_known


async def _follow_risk(uow: UnitOfWork, contract: Contract, risk_level: str, grade: str | None, *, actor: str) -> None:
    level = risk_level
    flagged = not meets_risk(contract.services, level, uow.policy, grade)
    if flagged == contract.risk_flagged:
        return
    step = CONTRACT.step(FLAG, contract.status, uow.principal.role)
    contract.risk_flagged = flagged
    needed = inspection_level(level, grade)
    minimum = uow.policy.min_visits_per_year.for_level(needed)
    if flagged and needed != level:
        reason = (
            f"企业诚信等级为 D，按 {needed} 级要求隐患排查每年至少 {minimum} 次，协议频次不足，请主管局关注 / "
            f"enterprise credit grade D: inspected as {needed}, hazard_inspection needs {minimum} a year, "
            "the contract falls short"
        )
    elif flagged:
        reason = (
            f"企业风险等级升为 {level}，隐患排查每年至少 {minimum} 次，协议频次不足，请主管局关注 / "
            f"enterprise risk raised to {level}: hazard_inspection needs {minimum} a year, "
            "the contract falls short"
        )
    else:
        reason = (
            f"企业风险等级为 {level}，协议频次已满足，解除标记 / enterprise risk {level} is met again: flag cleared"
        )
    steps.take(uow, contract, step, reason=reason, actor=actor)
    await steps.emit(uow, contract, step.emits, reason=reason)
    log.info("contracts.flagged", contract_id=str(contract.id), flagged=flagged, risk_level=level)


async def follow_engagement(uow: UnitOfWork, *, engagement: EngagementDeclared) -> None:
    """Keep the agency's declared other work for an enterprise (the conflict-of-interest rule)."""
    await Engagements(uow.session).apply(
        {
            "id": engagement.id,
            "agency_id": uuid.UUID(engagement.agency_id),
            "enterprise_uscc": engagement.enterprise_uscc,
            "kind": engagement.kind,
            "starts_on": engagement.starts_on,
            "ends_on": engagement.ends_on,
            "version": engagement.version,
            "updated_at": uow.now,
        }
    )


async def follow_credit_listing(uow: UnitOfWork, *, listing: CreditListingChanged) -> None:
    """Keep whether an agency is on the list (an enterprise's listing is not ours)."""
    if listing.org_kind != "agency":
        return
    await CreditListings(uow.session).follow(listing, at=uow.now)
