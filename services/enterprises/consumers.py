"""What the enterprises service consumes; each handler runs in the unit of work the inbox opened
for the event, and its read models are kept by ``shared.readmodel.upsert_if_newer`` (strictly
newer versions apply; an equal version is a duplicate and an older one stale — both ignored).

- every ``contract.*`` event: the contract's row in ``custody_contracts`` takes the event's
  status, parties and term. From it come the enterprise's custodian — an ``active`` contract (the
  latest-ending one if ever several), else a ``suspended`` one (a suspended contract still binds
  its agency and comes back to ``active`` on reinstatement, so the bureau keeps seeing who holds
  the enterprise, marked ``status: suspended``), else none — and which agencies see its full
  record (repository.py, SPEC §14).
- ``hazard.reported`` / ``hazard.verified`` of level ``major``: the hazard's row in
  ``major_hazards`` takes the event's status; a major hazard that is not verified raises its
  enterprise's risk (risk.py). General hazards are ignored.

Events about a USCC that is not registered here (yet) are kept in those tables and take effect
when the enterprise is registered or imported; they never fail.
"""

from __future__ import annotations

from typing import Any

import structlog

from services.enterprises import service
from services.enterprises.models import ContractStatus, HazardStatus, custody_contracts, major_hazards, policy_versions
from shared.events.catalog import ContractChanged, EventType, HazardChanged
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.policy_versions import keep_versions
from shared.readmodel import upsert_if_newer
from shared.uow import UnitOfWork

log = structlog.get_logger("enterprises.consumers")

CONSUMERS = Consumers()
CONSUMERS.add(EventType.POLICY_PUBLISHED, keep_versions(policy_versions))  # shared.policy_versions
CONTRACT_EVENTS = tuple(t for t in EventType if t.family == "contract")
MAJOR = "major"  # the hazard level that raises risk


@CONSUMERS.on(*CONTRACT_EVENTS)
async def on_contract(uow: UnitOfWork, event: CloudEvent) -> None:
    data = ContractChanged.model_validate(event.data)
    values: dict[str, Any] = {
        "contract_id": data.id,
        "enterprise_uscc": data.enterprise_uscc,
        "agency_id": data.agency_id,
        "agency_name": data.agency_name,
        "status": ContractStatus(data.status),
        "start_date": data.start_date,
        "end_date": data.end_date,
        "version": data.version,
        "updated_at": uow.now,
    }
    # Facts a producer may not send yet: an event without them leaves what the row knows.
    values |= {
        name: value
        for name, value in (
            ("agency_uscc", data.agency_uscc),
            ("drafted_by", data.drafted_by),
            ("enterprise_signed", data.enterprise_signed),
        )
        if value is not None
    }
    if not await upsert_if_newer(uow.session, custody_contracts, values, key=["contract_id"]):
        log.info("enterprises.contract_event.ignored", contract_id=data.id, version=data.version)
        return
    outcome = await service.refresh_enterprise(uow, uscc=data.enterprise_uscc)
    log.info(
        "enterprises.contract.updated",
        contract_id=data.id,
        status=data.status,
        uscc=data.enterprise_uscc,
        outcome=outcome or "unchanged",
    )


@CONSUMERS.on(EventType.HAZARD_REPORTED, EventType.HAZARD_VERIFIED)
async def on_hazard(uow: UnitOfWork, event: CloudEvent) -> None:
    data = HazardChanged.model_validate(event.data)
    if data.level != MAJOR:
        return
    status = HazardStatus.VERIFIED if event.type == EventType.HAZARD_VERIFIED else HazardStatus(data.status)
    values = {
        "hazard_id": data.id,
        "enterprise_uscc": data.enterprise_uscc,
        "contract_id": data.contract_id,
        "status": status,
        "version": data.version,
        "updated_at": uow.now,
    }
    if not await upsert_if_newer(uow.session, major_hazards, values, key=["hazard_id"]):
        log.info("enterprises.hazard_event.ignored", hazard_id=data.id, version=data.version)
        return
    outcome = await service.refresh_enterprise(uow, uscc=data.enterprise_uscc)
    log.info(
        "enterprises.major_hazard.updated",
        hazard_id=data.id,
        status=status,
        uscc=data.enterprise_uscc,
        outcome=outcome or "unchanged",
    )
