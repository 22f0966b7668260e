"""What the contracts service consumes: the agencies' status events and the enterprises' events,
each applied to its read model and then to the contracts concerned (service.cascades)."""

from __future__ import annotations

from services.contracts import service
from services.contracts.models import policy_versions
from shared.events.catalog import (
    CATALOG,
    AgencyStatusChanged,
    CreditListingChanged,
    EngagementDeclared,
    EnterpriseChanged,
    EnterpriseCreditChanged,
    EventType,
)
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.policy_versions import keep_versions
from shared.uow import UnitOfWork

CONSUMERS = Consumers()
CONSUMERS.add(EventType.POLICY_PUBLISHED, keep_versions(policy_versions))  # shared.policy_versions

# Every agency status event of the catalog (agency.credit_changed has another payload: not ours).
AGENCY_STATUS_EVENTS = tuple(t for t, model in CATALOG.items() if model is AgencyStatusChanged)


@CONSUMERS.on(*AGENCY_STATUS_EVENTS)
async def on_agency(uow: UnitOfWork, event: CloudEvent) -> None:
    await service.follow_agency(
        uow, event_type=EventType(event.type), agency=AgencyStatusChanged.model_validate(event.data)
    )


@CONSUMERS.on(EventType.ENTERPRISE_REGISTERED, EventType.ENTERPRISE_UPDATED, EventType.ENTERPRISE_RISK_CHANGED)
async def on_enterprise(uow: UnitOfWork, event: CloudEvent) -> None:
    await service.follow_enterprise(
        uow, event_type=EventType(event.type), enterprise=EnterpriseChanged.model_validate(event.data)
    )


@CONSUMERS.on(EventType.ENTERPRISE_CREDIT_CHANGED)
async def on_enterprise_credit(uow: UnitOfWork, event: CloudEvent) -> None:
    """Graded D, an enterprise needs the next higher risk level's inspection frequency (SPEC §19)."""
    await service.follow_enterprise_credit(uow, credit=EnterpriseCreditChanged.model_validate(event.data))


@CONSUMERS.on(EventType.AGENCY_ENGAGEMENT_DECLARED)
async def on_engagement(uow: UnitOfWork, event: CloudEvent) -> None:
    await service.follow_engagement(uow, engagement=EngagementDeclared.model_validate(event.data))


@CONSUMERS.on(
    EventType.CREDIT_NOTICED,
    EventType.CREDIT_LISTED,
    EventType.CREDIT_WITHDRAWN,
    EventType.CREDIT_EXPIRED,
    EventType.CREDIT_REPAIRED,
)
async def on_credit_listing(uow: UnitOfWork, event: CloudEvent) -> None:
    """An agency on the serious-dishonesty list enters no new contracts (SPEC §19)."""
    await service.follow_credit_listing(uow, listing=CreditListingChanged.model_validate(event.data))
