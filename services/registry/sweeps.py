"""Time-based transitions of the registry: ``sweep(ctx, as_of)``.

- Approved agencies whose ``valid_until`` is before ``as_of`` become ``expired`` (event
  ``agency.expired``, audit trail, out of the directory). One conditional UPDATE per agency, so two
  replicas sweeping together expire each agency once and emit one event.
- An agency under renewal whose previous filing lapsed before the bureau decided leaves the
  directory (its status stays ``submitted``/``needs_more_info``: the review is still pending).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog

from shared.app import ServiceContext

from services.registry import directory
from services.registry.models import Agency, DirectoryEntry
from services.registry.transitions import expire_one

log = structlog.get_logger("registry.sweep")


async def sweep(ctx: ServiceContext, as_of: date) -> dict[str, Any]:
    t = Agency.__table__
    async with ctx.db.reader() as session:
        due = (await session.execute(sa.select(t.c.id).where(t.c.status == "approved", t.c.valid_until < as_of)
                                     .order_by(t.c.id))).scalars().all()
    expired = 0
    for agency_id in due:
        if await expire_one(ctx, agency_id, as_of):
            expired += 1
            log.info("registry.agency.expired", agency_id=str(agency_id), as_of=as_of.isoformat())
    e = DirectoryEntry.__table__
    delisted = 0
    async with ctx.db.transaction(notify=False) as session:
        lapsed = (await session.execute(
            sa.select(e.c.agency_id).join(t, t.c.id == e.c.agency_id)
            .where(t.c.status != "approved", e.c.valid_until < as_of))).scalars().all()
        for agency_id in lapsed:
            delisted += await directory.delist_agency(session, agency_id)
    return {"expired": expired, "delisted_lapsed_renewals": delisted}
