"""What the audit service applies: the read models of contracts, agencies and enterprises, kept
from their events (SPEC §10: consumes ``contract.*``, ``agency.*``, ``enterprise.*``).

Each family is taken by its pattern, so an event type added to a family later is applied without a
change here (a hand-written list once missed ``agency.needs_more_info``). Every row is written by
``shared.readmodel.upsert_if_newer``: a strictly newer version applies, an equal one is a duplicate
and an older one stale — both ignored.
"""

from __future__ import annotations

import uuid

import structlog

from services.audit.models import (
    AgencyView,
    Base,
    ContractView,
    EnterpriseRiskStep,
    EnterpriseView,
    policy_versions,
    trail_heads,
)
from services.audit.models.attachments import storage_usage
from services.audit.models.readmodels import ENTERPRISE_RECORD_FIELDS
from shared.audit_trail import keep_head
from shared.db import insert_ignore
from shared.events.catalog import AgencyStatusChanged, ContractChanged, EnterpriseChanged, EventType
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.policy_versions import keep_versions
from shared.readmodel import upsert_if_newer
from shared.storage import keep_usage
from shared.uow import UnitOfWork
from shared.validation import normalise

log = structlog.get_logger("audit.consumers")
CONSUMERS = Consumers()
CONSUMERS.add(EventType.POLICY_PUBLISHED, keep_versions(policy_versions))  # shared.policy_versions
# The witness of other services' audit trails (shared.audit_trail, docs/DECISIONS.md D32).
CONSUMERS.add(EventType.AUDITTRAIL_ADVANCED, keep_head(trail_heads))
# The registry's filing documents count against the same storage quota as attachments (SPEC §16).
CONSUMERS.add(EventType.STORAGE_USED, keep_usage(storage_usage))


async def _keep(uow: UnitOfWork, model: type[Base], values: dict[str, object], *, key: str, event: CloudEvent) -> None:
    applied = await upsert_if_newer(uow.session, model.__table__, values, key=[key])
    if not applied:
        log.info(
            "audit.readmodel.not_newer_ignored",
            event_type=event.type,
            entity=str(values[key]),
            version=values["version"],
        )


@CONSUMERS.on("contract.*")
async def on_contract(uow: UnitOfWork, event: CloudEvent) -> None:
    data = ContractChanged.model_validate(event.data)
    services = [
        {"item": str(s.get("item")), "times_per_year": int(s.get("times_per_year", 0))}
        for s in data.services
        if isinstance(s, dict) and s.get("item")
    ]
    await _keep(
        uow,
        ContractView,
        {
            "id": uuid.UUID(data.id),
            "version": data.version,
            "status": data.status,
            "agency_id": uuid.UUID(data.agency_id),
            "agency_name": data.agency_name,
            "enterprise_uscc": data.enterprise_uscc,
            "enterprise_name": data.enterprise_name,
            "engineer_name": data.engineer_name,
            "district_code": data.district_code,
            "start_date": data.start_date,
            "end_date": data.end_date,
            "services": services,
            "updated_at": uow.now,
        },
        key="id",
        event=event,
    )


@CONSUMERS.on("agency.*")
async def on_agency(uow: UnitOfWork, event: CloudEvent) -> None:
    """Every agency event carries the agency's status, but ``agency.credit_changed``: that one is
    ours (the credit file), not the registry's."""
    if event.type == EventType.AGENCY_CREDIT_CHANGED:
        return
    data = AgencyStatusChanged.model_validate(event.data)
    await _keep(
        uow,
        AgencyView,
        {
            "id": uuid.UUID(data.id),
            "version": data.version,
            "uscc": data.uscc,
            "name": data.name,
            "district_code": data.district_code,
            "status": data.status,
            "engineers": sorted({normalise(name).strip() for name in data.registered_engineers}),
            "updated_at": uow.now,
        },
        key="id",
        event=event,
    )


@CONSUMERS.on("enterprise.*")
async def on_enterprise(uow: UnitOfWork, event: CloudEvent) -> None:
    """The enterprises service's events; ``enterprise.credit_changed`` is ours (the credit file)."""
    if event.type == EventType.ENTERPRISE_CREDIT_CHANGED:
        return
    data = EnterpriseChanged.model_validate(event.data)
    await _keep(
        uow,
        EnterpriseView,
        {
            "uscc": data.uscc,
            "id": data.id,
            "version": data.version,
            "name": data.name,
            "district_code": data.district_code,
            "town": data.town,
            "risk_level": data.risk_level,
            "updated_at": uow.now,
            **data.model_dump(include=set(ENTERPRISE_RECORD_FIELDS)),
        },
        key="uscc",
        event=event,
    )
    await _keep_risk(uow, event, data)


async def _keep_risk(uow: UnitOfWork, event: CloudEvent, data: EnterpriseChanged) -> None:
    """The risk history (一企一档, SPEC §22): the level at registration and each change, once per
    enterprise version (a redelivery or an older event inserts nothing)."""
    changed = data.previous_risk_level is not None and data.previous_risk_level != data.risk_level
    if event.type not in (EventType.ENTERPRISE_REGISTERED, EventType.ENTERPRISE_RISK_CHANGED) and not changed:
        return
    await insert_ignore(
        uow.session,
        EnterpriseRiskStep.__table__,
        {
            "enterprise_uscc": data.uscc,
            "version": data.version,
            "risk_level": data.risk_level,
            "previous_risk_level": data.previous_risk_level,
            "at": event.time,
        },
    )
