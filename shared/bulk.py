"""Many rows into one table, in the caller's transaction, as cheaply as the backend allows (D-IMPORTPG).

PostgreSQL: one binary ``COPY`` through the session's own asyncpg connection
(``copy_records_to_table``): no SQL compiled, no bind parameters processed per value, one round
trip per call — the bulk import's token rows (~60 per enterprise) cost what a COPY costs. SQLite:
one ``executemany`` of a single-row INSERT (the driver loops in C). Either way the rows are plain
values in the table's column order; a unique violation is raised as SQLAlchemy's ``IntegrityError``
as any INSERT's would be, and the transaction is the caller's to roll back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

COPY_ROWS = 50_000  # records per COPY: bounds what is held while encoding one call


async def insert_records(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> int:
    """Insert ``records`` (tuples of values for ``columns``) into ``table``; the number written.
    JSON columns take Python values (serialised here, as the column type would)."""
    json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        rows = [dict(zip(columns, record, strict=True)) for record in records]
        if rows:
            await session.execute(sa.insert(table), rows)
        return len(rows)
    raw = (await connection.get_raw_connection()).driver_connection
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for record in records:
        if json_at:
            record = list(record)
            for i in json_at:
                record[i] = None if record[i] is None else json.dumps(record[i], ensure_ascii=False)
        chunk.append(tuple(record))
        if len(chunk) >= COPY_ROWS:
            count += await _copy(raw, table, columns, chunk)
            chunk = []
    if chunk:
        count += await _copy(raw, table, columns, chunk)
    return count


async def _copy(raw: Any, table: sa.Table, columns: Sequence[str], records: list[tuple[Any, ...]]) -> int:
    import asyncpg

    try:
        await raw.copy_records_to_table(
            table.name, records=records, columns=list(columns), schema_name=table.schema or None
        )
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc
    return len(records)


def uuids(values: Iterable[Any]) -> list[uuid.UUID]:
    """Row ids as UUIDs (a COPY takes no strings for a uuid column)."""
    return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in values]
