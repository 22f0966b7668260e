"""A visit's dispute (SPEC §16): the enterprise served disputes a visit it has not confirmed
(``recorded`` → ``disputed``, ``servicelog.disputed`` to the agency and the bureau); the bureau of
the enterprise's district, or the city, resolves it — ``uphold`` keeps the visit (→ ``confirmed``,
``servicelog.confirmed``), ``void`` cancels it (→ ``void``). Both are regulatory acts on the audit
trail; the row keeps ``disputed_at`` and ``resolved_at`` with the reason, the decision and the notes
(a record "as of" a moment reads them). Which rows: the repository's ``writable``; which roles and
states: ``states.SERVICE_LOG``."""

from __future__ import annotations

import uuid

import structlog

from services.audit import events
from services.audit.models import DisputeDecision, ServiceLog
from services.audit.repository.servicelogs import ServiceLogs
from services.audit.service.ecredit import record_dispute_upheld
from services.audit.states import DISPUTE, RESOLVE_DISPUTE, SERVICE_LOG, ServiceLogStatus
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.disputes")

# The audit trail's names of the two acts (a resolution has no event of its own).
TRAIL_DISPUTED, TRAIL_RESOLVED = str(EventType.SERVICELOG_DISPUTED), "servicelog.resolved"
OUTCOME = {DisputeDecision.UPHOLD: ServiceLogStatus.CONFIRMED, DisputeDecision.VOID: ServiceLogStatus.VOID}


async def dispute_service_log(uow: UnitOfWork, *, log_id: uuid.UUID, reason: str, if_match: Precondition) -> ServiceLog:
    async with uow:
        entry = await ServiceLogs(uow.session).get(log_id, uow.principal, write=True)
        SERVICE_LOG.authorize(DISPUTE, uow.principal.role)  # 403 before 412 before 409
        if_match.check(entry.version)
        step = SERVICE_LOG.step(DISPUTE, entry.status, uow.principal.role)
        entry.status, entry.disputed_by, entry.disputed_at = step.target, uow.principal.actor, uow.now
        entry.dispute_reason = reason
        entry.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.service_log_changed(entry)))
        await uow.audit(
            action=TRAIL_DISPUTED,
            entity_type="service_log",
            entity_id=entry.id,
            payload={"contract_id": str(entry.contract_id), "reason": reason},
        )
    log.info("audit.servicelog.disputed", service_log_id=str(entry.id))
    return entry


async def resolve_dispute(
    uow: UnitOfWork, *, log_id: uuid.UUID, decision: DisputeDecision, notes: str | None, if_match: Precondition
) -> ServiceLog:
    async with uow:
        entry = await ServiceLogs(uow.session).get(log_id, uow.principal, write=True)
        SERVICE_LOG.authorize(RESOLVE_DISPUTE, uow.principal.role)
        if_match.check(entry.version)
        step = SERVICE_LOG.step(RESOLVE_DISPUTE, entry.status, uow.principal.role, to=OUTCOME[decision])
        entry.status, entry.resolved_by, entry.resolved_at = step.target, uow.principal.actor, uow.now
        entry.resolution, entry.resolution_notes = str(decision), notes or None
        if decision == DisputeDecision.UPHOLD:  # the bureau's decision stands for the countersignature
            entry.confirmed_by, entry.confirmed_at = uow.principal.actor, uow.now
            # the visit stands against the enterprise's claim: −2 on its credit file (SPEC §19), once
            # per dispute (a visit is disputed once: its id names the dispute)
            await record_dispute_upheld(
                uow, enterprise_uscc=entry.enterprise_uscc, dispute_id=entry.id, service_log_id=entry.id
            )
        entry.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.service_log_changed(entry)))
        await uow.audit(
            action=TRAIL_RESOLVED,
            entity_type="service_log",
            entity_id=entry.id,
            payload={"contract_id": str(entry.contract_id), "decision": str(decision), "notes": notes},
        )
    log.info("audit.servicelog.resolved", service_log_id=str(entry.id), decision=str(decision))
    return entry
