"""What the gateway consumes (a durable consumer per event family, ``gateway_<family>``, with the inbox, like every service).

``agency.approved``: SPEC §14 — approving an agency's first filing also verifies its organisation
(the bureau has just checked its licence and staff). Only a ``pending`` organisation changes; a
suspended or rejected one stays as the bureau left it.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlmodel import col

from gateway import events
from gateway.models import Organisation
from shared.events.catalog import EventType
from shared.events.envelope import CloudEvent
from shared.events.inbox import Consumers
from shared.uow import UnitOfWork

log = structlog.get_logger("gateway.consumers")


CONSUMERS = Consumers()


@CONSUMERS.on(EventType.AGENCY_APPROVED)
async def agency_approved(uow: UnitOfWork, event: CloudEvent) -> None:
    session, clock = uow.session, uow.clock
    uscc = event.data.get("uscc")
    if not isinstance(uscc, str):
        return
    org = await session.scalar(sa.select(Organisation).where(col(Organisation.uscc) == uscc).with_for_update())
    if org is None or org.status != "pending" or org.kind != "agency":
        return
    now = clock.now()
    org.status, org.verified_at, org.updated_at = "verified", now, now
    org.decided_by = "registry:agency.approved"
    org.status_reason = "备案审核通过 / filing approved"
    org.version += 1
    await session.flush()
    await events.organisation_verified(uow, org, previous="pending", reason=org.status_reason)
    log.info("gateway.organisation.verified_by_filing", uscc=uscc, agency_id=event.data.get("id"))
