"""Many rows into one table, in the caller's transaction, as cheaply as the backend allows (D63).

PostgreSQL: one binary ``COPY`` through the session's own asyncpg connection
(``copy_records_to_table``, records streamed as they are made): no SQL compiled, no bind parameter
processed per value, one round trip — the bulk import's token rows (~50 per enterprise) cost what a
COPY costs. SQLite: one ``executemany`` of a single-row INSERT (the driver loops in C). Either way
the records are plain values in ``columns`` order; JSON columns take Python values (serialised
here); a unique violation is SQLAlchemy's ``IntegrityError`` as any INSERT's would be, and the
transaction is the caller's to roll back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


def is_copying(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def uuid_key(session: AsyncSession) -> Callable[[uuid.UUID], Any]:
    """How to pass a uuid that goes into many records: on PostgreSQL asyncpg's own UUID (copied
    as 16 bytes; a ``uuid.UUID`` is converted again for every record it is in)."""
    if not is_copying(session):
        return lambda value: value
    from asyncpg.pgproto.pgproto import UUID

    return lambda value: UUID(value.bytes)


async def insert_records(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """Insert ``records`` (sequences of values for ``columns``) into ``table``."""
    json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]
    if not is_copying(session):
        rows = [dict(zip(columns, record, strict=True)) for record in records]
        if rows:
            await session.execute(sa.insert(table), rows)
        return
    if json_at:
        records = (_with_json(record, json_at) for record in records)
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    import asyncpg

    try:
        await raw.copy_records_to_table(table.name, records=records, columns=list(columns), schema_name=table.schema)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc


def _with_json(record: Sequence[Any], json_at: list[int]) -> tuple[Any, ...]:
    values = list(record)
    for i in json_at:
        if values[i] is not None:
            values[i] = json.dumps(values[i], ensure_ascii=False, separators=(",", ":"))
    return tuple(values)
