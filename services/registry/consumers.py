"""What the registry consumes, for the public directory's read models. Each handler runs in the
inbox's unit of work (a redelivered event is skipped) and keeps its row with
``shared.readmodel.upsert_if_newer``: strictly newer versions apply, an equal or older one is a
duplicate or stale and changes nothing, so the order of arrival does not matter.

- ``agency.credit_changed`` → the agency's score and grade (kept even if it is not listed yet);
  a new grade of a listed agency is a change of the list (``changed``, in the list's history).
- ``contract.activated`` → the contract counts towards its agency's active contracts;
  ``contract.terminated`` / ``contract.expired`` → it no longer does. One row per contract with
  the newest version seen: a late ``activated`` after a ``terminated`` changes nothing.
- every ``contract.*`` → which engineer the contract names and whether it is live (not
  terminal): a change filing may not take such an engineer off the roster (SPEC §18).
- ``credit.*`` → whether an agency is on the serious-dishonesty list: the directory leaves it out
  while it is (SPEC §19), and shows it again once the listing ends if its filing is in force.
"""

from __future__ import annotations

import uuid

from services.registry.models import (
    AgencyCredit,
    ContractEngineer,
    ContractTally,
    policy_versions,
    storage_usage,
    trail_heads,
)
from services.registry.repository import Directory
from services.registry.service.directory import start_credit
from shared.audit_trail import keep_head
from shared.events.catalog import CATALOG, AgencyCreditChanged, ContractChanged, CreditListingChanged, EventType
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.policy_versions import keep_versions
from shared.readmodel import upsert_if_newer
from shared.storage import keep_usage
from shared.uow import UnitOfWork

CONSUMERS = Consumers()
CONSUMERS.add(EventType.POLICY_PUBLISHED, keep_versions(policy_versions))  # shared.policy_versions
# The witness of other services' audit trails (shared.audit_trail, docs/DECISIONS.md D32).
CONSUMERS.add(EventType.AUDITTRAIL_ADVANCED, keep_head(trail_heads))
# Attachments in the audit service count against the same storage quota as filing documents (SPEC §16).
CONSUMERS.add(EventType.STORAGE_USED, keep_usage(storage_usage))


@CONSUMERS.on(EventType.AGENCY_CREDIT_CHANGED)
async def credit_changed(uow: UnitOfWork, event: CloudEvent) -> None:
    data = AgencyCreditChanged.model_validate(event.data)
    agency_id, directory = uuid.UUID(data.id), Directory(uow.session)
    previous = await directory.grade_of(agency_id, start_grade=start_credit(uow.policy)["start_grade"])
    applied = await upsert_if_newer(
        uow.session,
        AgencyCredit.__table__,
        {
            "agency_id": agency_id,
            "score": data.score,
            "grade": data.grade,
            "version": data.version,
            "updated_at": uow.now,
        },
        key=["agency_id"],
    )
    if applied:
        await directory.regraded(agency_id, previous=previous, grade=data.grade, at=uow.now)


# Every contract event: which engineer a live contract names (a change filing may not remove them).
CONTRACT_EVENTS = tuple(t for t, model in CATALOG.items() if model is ContractChanged)
TALLIED = (EventType.CONTRACT_ACTIVATED, EventType.CONTRACT_TERMINATED, EventType.CONTRACT_EXPIRED)
ENDED = frozenset({"expired", "terminated", "cancelled"})  # contracts' final states (a rejection may be amended)


@CONSUMERS.on(*CONTRACT_EVENTS)
async def contract_changed(uow: UnitOfWork, event: CloudEvent) -> None:
    data = ContractChanged.model_validate(event.data)
    await upsert_if_newer(
        uow.session,
        ContractEngineer.__table__,
        {
            "contract_id": uuid.UUID(data.id),
            "agency_id": uuid.UUID(data.agency_id),
            "engineer_name": data.engineer_name,
            "live": data.status not in ENDED,
            "version": data.version,
            "updated_at": uow.now,
        },
        key=["contract_id"],
    )
    if event.type not in TALLIED:
        return
    await upsert_if_newer(
        uow.session,
        ContractTally.__table__,
        {
            "contract_id": uuid.UUID(data.id),
            "agency_id": uuid.UUID(data.agency_id),
            "active": event.type == EventType.CONTRACT_ACTIVATED,
            "version": data.version,
            "updated_at": uow.now,
        },
        key=["contract_id"],
    )


@CONSUMERS.on(
    EventType.CREDIT_NOTICED,
    EventType.CREDIT_LISTED,
    EventType.CREDIT_WITHDRAWN,
    EventType.CREDIT_EXPIRED,
    EventType.CREDIT_REPAIRED,
)
async def credit_listing(uow: UnitOfWork, event: CloudEvent) -> None:
    """An agency's serious-dishonesty listing in force or not (an enterprise's is not ours)."""
    data = CreditListingChanged.model_validate(event.data)
    if data.org_kind == "agency":
        await Directory(uow.session).follow_listing(data, at=uow.now)
