"""Local read models fed by events: one upsert, one staleness rule.

An event carries its entity's ``version``. A read-model row is written when the event is strictly
newer than what the row holds; an event of an older version is stale and ignored, and one of the
same version is a duplicate (another delivery, or a replay) and ignored too. Every consumer of
every service keeps its read models through ``upsert_if_newer``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import dialect_insert, rowcount


async def upsert_if_newer(
    session: AsyncSession,
    table: sa.Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    version_column: str = "version",
    keep: Sequence[str] = (),
) -> bool:
    """Insert the row, or update it when ``values[version_column]`` is strictly greater than the
    stored version; True when something was written. ``keep`` names columns an update must leave
    as they are (facts the row learnt from other events)."""
    stmt = dialect_insert(session)(table).values(**values)
    updated = {name: stmt.excluded[name] for name in values if name not in key and name not in keep}
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_=updated,
        where=table.c[version_column] < stmt.excluded[version_column],
    )
    result = await session.execute(stmt)
    return rowcount(result) > 0


async def is_stale(
    session: AsyncSession, table: sa.Table, *, key: Mapping[str, Any], version: int, version_column: str = "version"
) -> bool:
    """True when the read model already holds ``version`` or a newer one (for handlers whose
    effect is not a single upsert: check first, then act)."""
    stmt = sa.select(table.c[version_column]).where(*(table.c[k] == v for k, v in key.items()))
    held = (await session.execute(stmt)).scalar_one_or_none()
    return held is not None and held >= version
