"""Service logs (服务记录): the agency records a visit to an active contract's enterprise, with the
hazards it found; the enterprise countersigns.

The same visit (contract, visit date, engineer, items, summary) recorded twice without an
``Idempotency-Key`` is 409 ``duplicate_service_log`` naming the existing log; with the key, the
middleware replays the first 201. Every hazard emits ``hazard.reported`` when recorded (not only
major ones: the enterprises service raises the risk level on it), with its ``level``.
"""

from __future__ import annotations

import uuid
from datetime import date

import structlog
from sqlalchemy.exc import IntegrityError

from services.audit import events
from services.audit.models import ContractView, Hazard, ServiceLog
from services.audit.repository import Listing
from services.audit.repository.hazards import Hazards
from services.audit.repository.readmodels import Agencies, Contracts
from services.audit.repository.servicelogs import ServiceLogs
from services.audit.schemas import ServiceLogCreate
from services.audit.service.attachments import name_on_visit
from services.audit.service.supervision import open_case
from services.audit.states import (
    CONFIRM,
    HAZARD_FOUND,
    RECORDS_SERVICE_LOGS,
    SERVICE_LOG,
    ContractStatus,
    HazardStatus,
    ServiceLogStatus,
)
from shared.canonical import sha256_hex
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, ValidationFailed
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.policy import Policy
from shared.uow import UnitOfWork
from shared.validation import normalise

log = structlog.get_logger("audit.servicelogs")


def natural_key(body: ServiceLogCreate) -> str:
    return sha256_hex(
        {
            "contract_id": str(body.contract_id),
            "visit_date": body.visit_date.isoformat(),
            "engineer_name": body.engineer_name,
            "items": sorted(str(i) for i in body.items),
            "summary": body.summary,
        }
    )


def check_visit_rules(
    policy: Policy, body: ServiceLogCreate, contract: ContractView, today: date, roster: list[str] | None
) -> None:
    """Every rule a visit breaks, each on its field; the code names the first one. ``roster``: the
    agency's current engineers (normalised names; None or empty while unknown: nobody is on it)."""
    errors: list[FieldError] = []
    codes: list[ErrorCode] = []
    if body.visit_date > today:
        errors.append(FieldError("visit_date", text("走访日期不能晚于今天", "must not be in the future")))
        codes.append(ErrorCode.VISIT_DATE_IN_FUTURE)
    if not contract.start_date <= body.visit_date <= contract.end_date:
        errors.append(FieldError("visit_date", text("走访日期须在合同期限内", "must be within the contract term")))
        codes.append(ErrorCode.VISIT_DATE_OUTSIDE_TERM)
    if body.visit_date <= today and (today - body.visit_date).days > (delay := policy.max_log_delay_days):
        errors.append(
            FieldError(
                "visit_date",
                text(f"服务记录须在走访后 {delay} 天内填报", f"must be recorded within {delay} days of the visit"),
            )
        )
        codes.append(ErrorCode.VISIT_RECORDED_TOO_LATE)
    if normalise(body.engineer_name).strip() not in {normalise(name).strip() for name in roster or []}:
        errors.append(
            FieldError(
                "engineer_name",
                text(
                    "不是该机构当前在册、证书有效的注册安全工程师",
                    "not a registered safety engineer on the agency's current roster",
                ),
            )
        )
        codes.append(ErrorCode.ENGINEER_NOT_ON_ROSTER)
    contracted = {s["item"] for s in contract.services}
    for i, item in enumerate(body.items):
        if str(item) not in contracted:
            errors.append(
                FieldError(f"items.{i}", text(f"合同未约定服务项目 {item}", f"{item} is not a service of the contract"))
            )
            codes.append(ErrorCode.ITEM_NOT_IN_CONTRACT)
    for i, hazard in enumerate(body.hazards):
        days = getattr(policy.hazard_deadline_days, hazard.level)
        if not 0 < (hazard.deadline - body.visit_date).days <= days:  # (no date arithmetic that can overflow)
            errors.append(
                FieldError(
                    f"hazards.{i}.deadline",
                    text(
                        f"整改期限须晚于走访日期且不超过 {days} 天",
                        f"must be after the visit and within {days} days of it",
                    ),
                )
            )
            codes.append(ErrorCode.HAZARD_DEADLINE_OUT_OF_POLICY)
    if errors:
        raise ValidationFailed(
            text("服务记录不符合规则", "The service log breaks a rule"), code=codes[0], errors=errors
        )


def _duplicate(existing: uuid.UUID) -> Conflict:
    return Conflict(
        text("同一次走访已经记录过", "This visit is already recorded"),
        code=ErrorCode.DUPLICATE_SERVICE_LOG,
        extra={"existing_id": str(existing)},
    )


async def record_service_log(uow: UnitOfWork, *, body: ServiceLogCreate) -> ServiceLog:
    """The log with its hazards, ``servicelog.recorded`` and one ``hazard.reported`` per hazard."""
    uow.principal.require_role(*RECORDS_SERVICE_LOGS)
    key = natural_key(body)
    try:
        async with uow:
            contract = await _contract_for_visit(uow, body.contract_id)
            roster = await Agencies(uow.session).roster(contract.agency_id)
            check_visit_rules(uow.policy, body, contract, uow.clock.today(), roster)
            logs = ServiceLogs(uow.session)
            existing = await logs.id_of_visit(key)
            if existing is not None:
                raise _duplicate(existing)
            entry = ServiceLog(
                id=new_id(),
                contract_id=contract.id,
                agency_id=contract.agency_id,
                enterprise_uscc=contract.enterprise_uscc,
                district_code=contract.district_code,
                visit_date=body.visit_date,
                engineer_name=body.engineer_name,
                items=[str(i) for i in body.items],
                summary=body.summary,
                attachments=[str(a) for a in body.attachments],
                natural_key=key,
                status=ServiceLogStatus.RECORDED,
                recorded_by=uow.principal.actor,
                recorded_at=uow.now,
            )
            entry.hazards = [
                Hazard(
                    id=new_id(),
                    service_log_id=entry.id,
                    contract_id=contract.id,
                    agency_id=contract.agency_id,
                    enterprise_uscc=contract.enterprise_uscc,
                    district_code=contract.district_code,
                    description=h.description,
                    level=h.level,
                    location=h.location,
                    deadline=h.deadline,
                    photos=[str(a) for a in h.photos],
                    status=HazardStatus.OPEN,
                    created_at=uow.now,
                )
                for h in body.hazards
            ]
            await logs.add(entry)
            await name_on_visit(uow, body, entry)  # its attachments and photos: the caller's own (§16)
            await uow.emit(
                EventType.SERVICELOG_RECORDED, await events.located(uow.session, events.service_log_changed(entry))
            )
            for hazard in entry.hazards:  # every hazard at once (SPEC: a major one must be)
                await Hazards(uow.session).add_step(hazard, action=HAZARD_FOUND, at=uow.now)
                await uow.emit(
                    EventType.HAZARD_REPORTED, await events.located(uow.session, events.hazard_changed(hazard))
                )
                await open_case(uow, hazard=hazard)  # a major one opens its supervision case (SPEC §17)
    except IntegrityError as exc:  # a concurrent twin won the natural-key race
        async with uow.read() as session:
            existing = await ServiceLogs(session).id_of_visit(key)
        if existing is None:
            raise
        raise _duplicate(existing) from exc
    log.info("audit.servicelog.recorded", service_log_id=str(entry.id), hazards=len(entry.hazards))
    return entry


async def _contract_for_visit(uow: UnitOfWork, contract_id: uuid.UUID) -> ContractView:
    """The contract from the read model: unknown is a 422 (it may not have arrived yet: the client
    may retry), another agency's a 403, one not active a 422."""
    found = await Contracts(uow.session).with_access(contract_id, uow.principal, write=True)
    if found is None:
        raise ValidationFailed(
            text("合同不存在（或尚未同步）", "Unknown contract (or not yet synchronised)"),
            code=ErrorCode.UNKNOWN_CONTRACT,
            errors=[FieldError("contract_id", text("合同不存在", "unknown contract"))],
        )
    contract, agencys_own = found
    if not agencys_own:
        raise Forbidden(text("只有合同的受托机构可以填报服务记录", "Only the contract's agency may record its visits"))
    if contract.status != ContractStatus.ACTIVE:
        raise ValidationFailed(
            text(f"合同状态为 {contract.status}，不是履行中", f"The contract is {contract.status}, not active"),
            code=ErrorCode.CONTRACT_NOT_ACTIVE,
            errors=[FieldError("contract_id", text("合同未在履行中", "contract not active"))],
        )
    return contract


async def confirm_service_log(uow: UnitOfWork, *, log_id: uuid.UUID, if_match: Precondition) -> ServiceLog:
    async with uow:
        entry = await ServiceLogs(uow.session).get(log_id, uow.principal, write=True)
        SERVICE_LOG.authorize(CONFIRM, uow.principal.role)  # 403 before 412 before 409
        if_match.check(entry.version)
        step = SERVICE_LOG.step(CONFIRM, entry.status, uow.principal.role)
        entry.status, entry.confirmed_by, entry.confirmed_at = step.target, uow.principal.actor, uow.now
        entry.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.service_log_changed(entry)))
    return entry


async def get_service_log(uow: UnitOfWork, *, log_id: uuid.UUID) -> ServiceLog:
    async with uow.read() as session:
        return await ServiceLogs(session).get(log_id, uow.principal)


async def list_service_logs(
    uow: UnitOfWork,
    *,
    contract_id: uuid.UUID | None,
    date_from: date | None,
    date_to: date | None,
    page: PageParams,
    status: ServiceLogStatus | None = None,
) -> Listing[ServiceLog]:
    async with uow.read() as session:
        return await ServiceLogs(session).listing(
            uow.principal, contract_id=contract_id, date_from=date_from, date_to=date_to, status=status, page=page
        )
