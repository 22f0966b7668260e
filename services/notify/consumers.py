"""What notify consumes: every event somebody is told of (rules.py), and the events that keep
its read models — accounts (``account.*``, from the gateway), agencies, contracts, hazards and
complaints. A read model is written with ``upsert_if_newer`` (stale and duplicate versions
ignored); the notice is sent once per event whatever its version (the inbox makes it once)."""

from __future__ import annotations

from typing import Any

from services.notify import service
from services.notify.models import AccountStatus, agencies, complaints, contracts, hazards, policy_versions
from services.notify.repository import ReadModels
from services.notify.rules import RULES
from shared.events.catalog import (
    AccountChanged,
    AgencyStatusChanged,
    ComplaintChanged,
    ContractChanged,
    EventType,
    HazardChanged,
)
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.policy_versions import keep_versions
from shared.uow import UnitOfWork

E = EventType
# Recipients are resolved from the accounts, agencies, contracts, hazards and complaints seen so
# far: every family in one durable, applied in stream order (docs/DECISIONS.md D59).
CONSUMERS = Consumers(separate=())
CONSUMERS.add(EventType.POLICY_PUBLISHED, keep_versions(policy_versions))  # shared.policy_versions

ACCOUNT_STATUS: dict[str, AccountStatus | None] = {
    E.ACCOUNT_REGISTERED: AccountStatus.ACTIVE,
    E.ACCOUNT_UPDATED: None,  # keeps the status it has
    E.ACCOUNT_DISABLED: AccountStatus.DISABLED,
    E.ACCOUNT_ENABLED: AccountStatus.ACTIVE,
    E.ACCOUNT_REMOVED: AccountStatus.REMOVED,
}
READ_MODEL_FAMILIES = ("agency", "contract", "hazard", "complaint")


@CONSUMERS.on(E.ACCOUNT_REGISTERED, E.ACCOUNT_UPDATED, E.ACCOUNT_DISABLED, E.ACCOUNT_ENABLED, E.ACCOUNT_REMOVED)
async def on_account(uow: UnitOfWork, event: CloudEvent) -> None:
    data = AccountChanged.model_validate(event.data)
    await ReadModels(uow.session).apply_account(data, status=ACCOUNT_STATUS[event.type], at=uow.now)


def _agency(event: CloudEvent) -> dict[str, Any] | None:
    if event.type == E.AGENCY_CREDIT_CHANGED:
        return None  # its version counts credit changes, not the filing's
    a = AgencyStatusChanged.model_validate(event.data)
    certificates = [c.model_dump(mode="json") for c in a.engineer_certificates]
    return {
        "id": a.id,
        "uscc": a.uscc,
        "name": a.name,
        "district_code": a.district_code,
        "status": a.status,
        "valid_until": a.valid_until,
        "engineer_certificates": certificates,
        "version": a.version,
    }


def _contract(event: CloudEvent) -> dict[str, Any]:
    c = ContractChanged.model_validate(event.data)
    return {
        "id": c.id,
        "agency_id": c.agency_id,
        "agency_uscc": c.agency_uscc,
        "enterprise_uscc": c.enterprise_uscc,
        "district_code": c.district_code,
        "status": c.status,
        "version": c.version,
    }


def _hazard(event: CloudEvent) -> dict[str, Any]:
    h = HazardChanged.model_validate(event.data)
    return {
        "id": h.id,
        "enterprise_uscc": h.enterprise_uscc,
        "agency_id": h.agency_id,
        "district_code": h.district_code,
        "level": h.level,
        "status": h.status,
        "deadline": h.deadline,
        "version": h.version,
    }


def _complaint(event: CloudEvent) -> dict[str, Any]:
    c = ComplaintChanged.model_validate(event.data)
    return {
        "id": c.id,
        "agency_id": c.agency_id,
        "district_code": c.district_code,
        "status": c.status,
        "response_due": c.response_due,
        "version": c.version,
    }


READ_MODELS = {
    "agency": (agencies, _agency),
    "contract": (contracts, _contract),
    "hazard": (hazards, _hazard),
    "complaint": (complaints, _complaint),
}


@CONSUMERS.on(*(f"{family}.*" for family in READ_MODEL_FAMILIES))
async def on_tracked(uow: UnitOfWork, event: CloudEvent) -> None:
    table, values_of = READ_MODELS[event.type.split(".", 1)[0]]
    values = values_of(event)
    if values is not None:
        await ReadModels(uow.session).apply(table, values)
    await service.on_event(uow, event)


@CONSUMERS.on(*(t for t in RULES if t.family not in READ_MODEL_FAMILIES))
async def on_told(uow: UnitOfWork, event: CloudEvent) -> None:
    await service.on_event(uow, event)
