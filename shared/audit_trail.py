"""A tamper-evident, hash-chained log of regulatory acts (reviews, suspensions, filings,
complaint resolutions, audit results) kept by each service in its own database.

Each row's ``hash`` is the SHA-256 of the previous row's hash and the row's canonical content, so
editing, deleting or reordering any row breaks every link after it; ``verify`` reports the first
broken one.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.canonical import sha256_hex
from shared.clock import as_utc

GENESIS = "0" * 64


def _link(
    prev_hash: str, *, at: datetime, actor: str, action: str, entity_type: str, entity_id: str, payload: Any
) -> str:
    return sha256_hex(
        {
            "prev": prev_hash,
            "at": as_utc(at).isoformat(),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "payload": payload,
        }
    )


async def append(
    session: AsyncSession,
    table: sa.Table,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so that two transactions never link to the same predecessor.
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(table.name.encode())})
    prev = (await session.execute(sa.select(table.c.hash).order_by(table.c.seq.desc()).limit(1))).scalar()
    prev_hash = prev or GENESIS
    at = as_utc(at).replace(microsecond=(at.microsecond // 1000) * 1000)  # what every backend stores
    digest = _link(
        prev_hash, at=at, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, payload=payload
    )
    await session.execute(
        sa.insert(table).values(
            at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return digest


async def verify(session: AsyncSession, table: sa.Table) -> dict[str, Any]:
    prev_hash = GENESIS
    count = 0
    result = await session.stream(sa.select(table).order_by(table.c.seq))
    async for row in result.mappings():
        expected = _link(
            prev_hash,
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            payload=row["payload"],
        )
        if row["prev_hash"] != prev_hash or row["hash"] != expected:
            return {
                "valid": False,
                "entries": count,
                "first_broken_seq": row["seq"],
                "entity_type": row["entity_type"],
                "entity_id": row["entity_id"],
            }
        prev_hash = row["hash"]
        count += 1
    return {"valid": True, "entries": count, "first_broken_seq": None}
