"""Bounded storage: what the outbox, the inbox and the Idempotency-Key records no longer need.

- a published outbox row, ``outbox_retention_hours`` after it was acknowledged (unpublished rows are
  never touched: they are the events still to send);
- an inbox id, ``inbox_retention_days`` after it was applied — at least the stream's age limit
  (settings refuse less), so no copy of its event can arrive once the id is gone: JetStream drops
  a repeat within its duplicate window, a consumer re-created from the stream's start sees only
  events younger than the stream's ``max_age``;
- an idempotency record, ``idempotency_retention_hours`` after it was made (a client retries within
  minutes; a day is the promise).
Dead letters stay until an operator deals with them. Rows go in batches so that one purge never
holds the database's writer for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from shared.db import Database
from shared.settings import Settings
from shared.tables import InfraTables

BATCH = 5000


async def purge(db: Database, infra: InfraTables, settings: Settings, as_of: datetime) -> dict[str, int]:
    outbox, inbox, keys = infra.outbox, infra.inbox, infra.idempotency
    published_before = as_of - timedelta(hours=settings.outbox_retention_hours)
    return {
        "purged_outbox": await _delete_where(
            db, outbox, sa.and_(outbox.c.published_at.is_not(None), outbox.c.published_at < published_before)
        ),
        "purged_inbox": await _delete_where(
            db, inbox, inbox.c.processed_at < as_of - timedelta(days=settings.inbox_retention_days)
        ),
        "purged_idempotency": await _delete_where(
            db, keys, keys.c.created_at < as_of - timedelta(hours=settings.idempotency_retention_hours)
        ),
    }


async def _delete_where(db: Database, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    """Delete the rows matching ``condition``, a batch (by primary key) per transaction."""
    key = list(table.primary_key.columns)
    total = 0
    while True:
        async with db.transaction() as session:
            rows = (await session.execute(sa.select(*key).where(condition).limit(BATCH))).all()
            if rows:
                await session.execute(sa.delete(table).where(sa.tuple_(*key).in_([tuple(r) for r in rows])))
        total += len(rows)
        if len(rows) < BATCH:
            return total
