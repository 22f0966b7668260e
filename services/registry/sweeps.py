"""Time-based transitions of the registry (``SWEEPS``, run by ``POST /api/v1/admin/sweep`` and,
when configured, periodically).

- ``expire_filings``: approved filings whose ``valid_until`` is before ``as_of`` become
  ``expired`` (event ``agency.expired``, audit trail, out of the directory). Each in its own unit
  of work on the locked row, its state read again: replicas sweeping together expire each
  filing once and announce it once.
- ``delist_lapsed_renewals``: an agency under renewal whose previous filing lapsed before the
  bureau decided leaves the directory (its status stays ``submitted``/``needs_more_info``: the
  review is still pending), recorded as ``delisted`` in the list's history. A deletion counts
  (and is recorded) once, whichever replica makes it.
- ``lapse_certificates``: engineers whose certificate ended before ``as_of`` stop counting; an
  agency under the staffing minimums is flagged ``noncompliant`` (service.compliance).
"""

from __future__ import annotations

from datetime import datetime

import structlog

from services.registry import service
from services.registry.repository import Agencies, Directory, lapsing
from services.registry.service import compliance
from services.registry.states import ListChange
from shared.app import Runtime

log = structlog.get_logger("registry.sweep")
LAPSED = "续期审核未在原备案有效期内完成，移出公示名单 / renewal not decided before the filing lapsed"


async def expire_filings(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    day = as_of.date()
    reader = runtime.unit_of_work()
    async with reader.read() as session:
        due = await Agencies(session).due_to_expire(day)
    expired = 0
    for agency_id in due:
        if await service.expire(runtime.unit_of_work(), agency_id=agency_id, as_of=day):
            expired += 1
            log.info("registry.agency.expired", agency_id=str(agency_id), as_of=day.isoformat())
    return {"expired": expired}


async def delist_lapsed_renewals(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    delisted = 0
    async with runtime.unit_of_work() as uow:
        directory = Directory(uow.session)
        for agency_id in await directory.lapsed_renewals(as_of.date()):
            delisted += await directory.leave(agency_id, ListChange.DELISTED, at=uow.now, reason=LAPSED)
    return {"delisted_lapsed_renewals": delisted}


async def lapse_certificates(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    day = as_of.date()
    async with runtime.unit_of_work().read() as session:
        due = await lapsing(session, day)
    lapsed = 0
    for agency_id in due:
        if await compliance.lapse_certificates(runtime.unit_of_work(), agency_id=agency_id, as_of=day):
            lapsed += 1
            log.info("registry.agency.certificates_lapsed", agency_id=str(agency_id), as_of=day.isoformat())
    return {"certificates_lapsed": lapsed}


SWEEPS = (expire_filings, delist_lapsed_renewals, lapse_certificates)
