"""Many events into the outbox at once, for a bulk import (D63).

``Outbox.write_many`` (reached through ``UnitOfWork.emit_many``) takes payloads as dicts, checks
each against the catalog and writes one multi-row INSERT. An import builds its payloads as the
catalog's own models already, so here each is dumped once, not validated again, and the rows go
in by one COPY on PostgreSQL (``shared.bulk``). The rows are the ones ``write_many`` writes
(unclaimed: the relay's claiming pass publishes them); after its commit the caller wakes the relay
(``OutboxRelay.wake``) as the unit of work does after ``emit_many``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared import bulk, tracing
from shared.events.catalog import CATALOG, EventType, validate_event_data
from shared.events.outbox import Outbox
from shared.ids import new_id

COLUMNS = ("id", "type", "subject", "data", "request_id", "traceparent", "created_at")


async def write_models(
    session: AsyncSession,
    outbox: Outbox,
    events: Sequence[tuple[EventType, BaseModel]],
    *,
    request_id: str | None = None,
) -> int:
    """Write ``events`` (type, the catalog's payload model of that type) as outbox rows in the
    caller's transaction; the number written. A payload of another model is checked as
    ``Outbox.write_many`` would check it."""
    if not events:
        return 0
    now, traceparent = outbox.clock.now(), tracing.current_traceparent()
    records = []
    for event_type, payload in events:
        data = payload.model_dump(mode="json")
        if type(payload) is not CATALOG[event_type]:
            data = validate_event_data(event_type, data)
        records.append((new_id(), str(event_type), str(data.get("id")), data, request_id, traceparent, now))
    await bulk.insert_records(session, outbox.table, COLUMNS, records)
    return len(records)
