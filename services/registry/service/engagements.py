"""Engagements (SPEC §20): other work an agency does for an enterprise — safety evaluation,
testing, consulting, training — declared by the agency itself and announced as
``agency.engagement_declared``, from which contracts learns whom the agency may not take into
custody (conflicts of interest). Its bureau and the city read them with the agency."""

from __future__ import annotations

import uuid

from services.registry.models import AgencyEngagement
from services.registry.repository import Agencies, Engagements
from services.registry.schemas import EngagementCreate
from shared.events.catalog import EventType
from shared.ids import new_id
from shared.roles import Role
from shared.uow import UnitOfWork


async def declare(uow: UnitOfWork, *, agency_id: uuid.UUID, body: EngagementCreate) -> AgencyEngagement:
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        uow.principal.require_role(Role.AGENCY)  # the agency declares its own work; bureaus read it
        engagement = AgencyEngagement(
            id=new_id(),
            agency_id=agency.id,
            agency_uscc=agency.uscc,
            district_code=agency.district_code,
            enterprise_uscc=body.enterprise_uscc,
            kind=body.kind,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            declared_by=uow.principal.actor,
            declared_at=uow.now,
        )
        uow.session.add(engagement)
        facts = {
            "agency_id": str(agency.id),
            "enterprise_uscc": body.enterprise_uscc,
            "kind": body.kind,
            "starts_on": body.starts_on.isoformat(),
            "ends_on": body.ends_on.isoformat(),
        }
        await uow.emit(
            EventType.AGENCY_ENGAGEMENT_DECLARED,
            {"id": str(engagement.id), "version": 1, "agency_uscc": agency.uscc, **facts},
        )
        await uow.audit(action="agency.engagement_declared", entity_type="agency", entity_id=agency.id, payload=facts)
    return engagement


async def list_engagements(uow: UnitOfWork, *, agency_id: uuid.UUID) -> list[AgencyEngagement]:
    async with uow.read():
        await Agencies(uow.session).get(agency_id, uow.principal)
        return await Engagements(uow.session).of_agency(agency_id)
