"""Certificates that expire (SPEC §18, the sweep): an engineer whose certificate ended before
``as_of`` no longer counts — out of the directory's ``registered_engineers`` and of the
``agency.changed`` event's, from which contracts learns capacity and whom new contracts may
name. An agency that falls below the staffing minimums is flagged ``noncompliant`` (the bureau's
list) and told (notify, from ``agency.changed`` with ``noncompliant``). Each agency in its own
unit of work on the locked row: replicas sweeping together lapse a certificate once."""

from __future__ import annotations

import uuid
from datetime import date

from services.registry.models import ENGINEER
from services.registry.repository import Agencies, Directory
from services.registry.service.changes import announce
from services.registry.service.roster import compliant
from services.registry.states import ListChange
from shared.uow import UnitOfWork


def _reason(names: list[str], as_of: date) -> str:
    who = "、".join(names)
    return f"注册安全工程师 {who} 的证书已于 {as_of.isoformat()} 前到期，不再计入 / certificate(s) expired: {who}"


async def lapse_certificates(uow: UnitOfWork, *, agency_id: uuid.UUID, as_of: date) -> bool:
    async with uow:
        agency = await Agencies(uow.session).find(agency_id, lock=True)
        if agency is None:
            return False
        gone = [
            s
            for s in agency.staff
            if s.role == ENGINEER
            and not s.lapsed
            and s.certificate_valid_until is not None
            and s.certificate_valid_until < as_of
        ]
        if not gone:
            return False
        for member in gone:
            member.lapsed = True
        agency.noncompliant = not compliant(agency, uow.policy, as_of)
        agency.touch(uow.now)
        await uow.session.flush()
        reason = _reason([s.name for s in gone], as_of)
        directory = Directory(uow.session)
        if await directory.lists(agency.id):
            await directory.enter(agency, at=uow.now, change=ListChange.CHANGED, reason=reason)
        await uow.audit(
            action="agency.certificates_lapsed",
            entity_type="agency",
            entity_id=agency.id,
            payload={
                "engineers": [s.name for s in gone],
                "as_of": as_of.isoformat(),
                "noncompliant": agency.noncompliant,
            },
        )
        await announce(uow, agency, reason=reason)
    return True
