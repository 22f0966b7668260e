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
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from shared.db import Database
from shared.settings import Settings
from shared.tables import InfraTables

BATCH = 5000


async def purge(db: Database, infra: InfraTables, settings: Settings, as_of: datetime) -> dict[str, int]:
    outbox, inbox, keys = infra.outbox, infra.inbox, infra.idempotency
    return {
        "purged_outbox": await _delete(
            db,
            outbox,
            outbox.c.seq,
            sa.and_(
                outbox.c.published_at.is_not(None),
                outbox.c.published_at < as_of - timedelta(hours=settings.outbox_retention_hours),
            ),
        ),
        "purged_inbox": await _delete_where(
            db, inbox, inbox.c.processed_at < as_of - timedelta(days=settings.inbox_retention_days)
        ),
        "purged_idempotency": await _delete_where(
            db, keys, keys.c.created_at < as_of - timedelta(hours=settings.idempotency_retention_hours)
        ),
    }


async def _delete(db: Database, table: sa.Table, key: sa.ColumnElement[int], condition: sa.ColumnElement[bool]) -> int:
    """Delete by a single-column key in batches."""
    total = 0
    while True:
        batch = sa.select(key).where(condition).limit(BATCH).scalar_subquery()
        async with db.transaction() as session:
            result = cast(CursorResult[Any], await session.execute(sa.delete(table).where(key.in_(batch))))
            deleted = result.rowcount or 0
        total += deleted
        if deleted < BATCH:
            return total


async def _delete_where(db: Database, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    """Tables with a composite key: batches by the condition's own column bound, one statement each."""
    total = 0
    while True:
        async with db.transaction() as session:
            rows = (await session.execute(sa.select(*table.primary_key.columns).where(condition).limit(BATCH))).all()
            if rows:
                columns = list(table.primary_key.columns)
                await session.execute(sa.delete(table).where(sa.tuple_(*columns).in_([tuple(r) for r in rows])))
        total += len(rows)
        if len(rows) < BATCH:
            return total
