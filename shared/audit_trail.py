"""A tamper-evident, hash-chained log of regulatory acts (reviews, suspensions, filings,
complaint resolutions, audit results) kept by each service in its own database — and witnessed by
another service, so that the trail also proves its own completeness.

Each row's ``hash`` is the SHA-256 of the previous row's hash and the row's canonical content, so
editing, deleting or reordering any row breaks every link after it. Deleting the *last* rows (or
all of them) breaks no link, so every append also emits ``audittrail.advanced`` {service, seq,
hash, at} through the same unit of work (the outbox: published exactly when the row committed).
The trail's witness (``witness_of``: audit witnesses every other service, registry witnesses
audit — docs/DECISIONS.md D32) keeps each witnessed service's latest head in
``trail_heads`` (``heads_table`` + the shared consumer ``keep_head``). ``verify`` walks the chain
and then asks the witness for the head it holds (``ask_witness``, a short synchronous call with
the caller's token): the local chain must contain that head's row, else the trail was truncated
(``reason: truncated``) or rewritten (``reason: diverged``). When the witness cannot be asked the
answer says so (``witness.status: unavailable``, ``valid: null`` — completeness unknown), within
``peer_timeout_seconds``.

``seq`` is the previous row's ``seq`` + 1, given by ``append`` itself (not by the database's
sequence), so that a forger who deletes the tail and appends again reuses a witnessed number with
another hash — which the witness never accepts, and ``verify`` reports as ``diverged``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.canonical import sha256_hex
from shared.clock import as_utc
from shared.db import execute_core, serialise
from shared.events.catalog import TrailAdvanced
from shared.events.envelope import CloudEvent
from shared.readmodel import upsert_if_newer
from shared.settings import SERVICES, Settings

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

log = structlog.get_logger("shared.audit_trail")

GENESIS = "0" * 64
HEADS_TABLE = "trail_heads"
HEADS_PATH = "/api/v1/admin/audit-trail/heads"
# Who witnesses whose trail (docs/DECISIONS.md D32): never the service itself.
WITNESS_OF_AUDIT = "registry"
WITNESS_OF_OTHERS = "audit"


def witness_of(service: str) -> str | None:
    """The service that keeps ``service``'s trail head; None for a service outside the platform
    (throwaway test services), whose trail is checked for broken links only."""
    if service not in SERVICES:
        return None
    return WITNESS_OF_AUDIT if service == "audit" else WITNESS_OF_OTHERS


def witnessed_by(witness: str) -> tuple[str, ...]:
    """The services whose heads ``witness`` keeps."""
    return tuple(s for s in SERVICES if witness_of(s) == witness)


@dataclass(frozen=True)
class Head:
    """The trail's last row: its sequence number and hash."""

    seq: int
    hash: str
    at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "at": as_utc(self.at).isoformat() if self.at else None}


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
) -> Head:
    """Append one row in the caller's transaction; the new head."""
    await serialise(session, table.name)  # two appenders never link to the same predecessor
    newest = sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    last = (await execute_core(session, newest)).first()
    prev_hash = last.hash if last is not None else GENESIS
    seq = (last.seq if last is not None else 0) + 1
    at = as_utc(at).replace(microsecond=(at.microsecond // 1000) * 1000)  # what every backend stores
    digest = _link(
        prev_hash, at=at, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, payload=payload
    )
    await execute_core(
        session,
        sa.insert(table).values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            prev_hash=prev_hash,
            hash=digest,
        ),
    )
    return Head(seq=seq, hash=digest, at=at)


def advanced(service: str, head: Head) -> dict[str, Any]:
    """The data of ``audittrail.advanced``: ``id`` is the service, ``version`` the head's seq."""
    assert head.at is not None  # append gives it
    return TrailAdvanced(
        id=service, version=head.seq, service=service, seq=head.seq, hash=head.hash, at=as_utc(head.at)
    ).model_dump(mode="json")


# --- the witness ------------------------------------------------------------------------------
def heads_table(metadata: sa.MetaData) -> sa.Table:
    """The witness's read model: every witnessed service's latest head (added to the witnessing
    service's own metadata, so it is in that service's migrations)."""
    known: sa.Table | None = metadata.info.get(HEADS_TABLE)
    if known is not None:
        return known
    table = sa.Table(
        HEADS_TABLE,
        metadata,
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    metadata.info[HEADS_TABLE] = table
    return table


def keep_head(table: sa.Table) -> Callable[[UnitOfWork, CloudEvent], Awaitable[None]]:
    """The consumer of ``audittrail.advanced`` every witness registers: it keeps the head of the
    services it witnesses (``witness_of``), the highest seq seen — an older or equal seq (a
    redelivery, a late event, or a forger's re-append after deleting the tail) changes nothing."""

    async def keep(uow: UnitOfWork, event: CloudEvent) -> None:
        data = TrailAdvanced.model_validate(event.data)
        if witness_of(data.service) != uow.runtime.name:
            return
        await upsert_if_newer(
            uow.session,
            table,
            {"service": data.service, "seq": data.seq, "hash": data.hash, "at": data.at, "received_at": uow.now},
            key=["service"],
            version_column="seq",
        )

    return keep


async def witnessed_heads(session: AsyncSession, table: sa.Table) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(table).order_by(table.c.service))).mappings()
    return [
        {"service": r["service"], "seq": r["seq"], "hash": r["hash"], "at": as_utc(r["at"]).isoformat()} for r in rows
    ]


@dataclass(frozen=True)
class Witnessed:
    """What the witness said: ``status`` ok (``head`` None: it has seen no row yet), unavailable
    (down, slow, refused or unreadable) or none (the service has no witness)."""

    witness: str | None
    status: str
    head: Head | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": self.witness, "status": self.status}
        if self.head is not None:
            out.update(seq=self.head.seq, hash=self.head.hash)
        if self.detail:
            out["detail"] = self.detail
        return out


async def ask_witness(settings: Settings, service: str, *, authorization: str | None) -> Witnessed:
    """The head ``service``'s witness holds, asked with the caller's own token (an admin's: the
    witness checks it itself) and bounded by ``peer_timeout_seconds`` in all."""
    witness = witness_of(service)
    if witness is None:
        return Witnessed(None, "none")
    url = f"{settings.url_of(witness)}{HEADS_PATH}"
    headers = {"Accept": "application/json", **({"Authorization": authorization} if authorization else {})}
    timeout = settings.peer_timeout_seconds
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await asyncio.wait_for(client.get(url, params={"service": witness}, headers=headers), timeout)
        if response.status_code != 200:
            raise ValueError(f"answered {response.status_code}")
        body = response.json()
        found = [h for h in body["heads"] if h["service"] == service]
        head = Head(seq=int(found[0]["seq"]), hash=str(found[0]["hash"])) if found else None
    except (httpx.HTTPError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        detail = type(exc).__name__ if not isinstance(exc, ValueError) else str(exc)
        log.warning("audit_trail.witness_unavailable", service=service, witness=witness, error=detail)
        return Witnessed(witness, "unavailable", detail=detail)
    return Witnessed(witness, "ok", head)


# --- verification and reading -----------------------------------------------------------------
async def verify(session: AsyncSession, table: sa.Table, witnessed: Witnessed | None = None) -> dict[str, Any]:
    """Walk the chain; with what the witness holds, also check that the chain reaches it.

    ``valid``: true — no broken link and (when there is a witness) the witnessed head's row is on
    the chain; false — a broken link (``reason: broken``), the witnessed row is missing
    (``truncated``) or another row stands at its seq (``diverged``); null — no broken link, but
    the witness could not be asked (``reason: witness_unavailable``)."""
    witnessed = witnessed or Witnessed(None, "none")
    target = witnessed.head
    prev_hash = GENESIS
    count = 0
    head: Head | None = None
    at_target: str | None = None  # the hash of the local row at the witnessed seq
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
                "reason": "broken",
                "entries": count,
                "first_broken_seq": row["seq"],
                "entity_type": row["entity_type"],
                "entity_id": row["entity_id"],
                "witness": witnessed.as_json(),
            }
        if target is not None and row["seq"] == target.seq:
            at_target = row["hash"]
        prev_hash = row["hash"]
        head = Head(seq=row["seq"], hash=row["hash"], at=row["at"])
        count += 1
    out: dict[str, Any] = {
        "valid": True,
        "reason": None,
        "entries": count,
        "first_broken_seq": None,
        "head": head.as_json() if head else None,
        "witness": witnessed.as_json(),
    }
    if witnessed.status == "unavailable":
        out.update(valid=None, reason="witness_unavailable")
    elif target is not None and at_target is None:
        out.update(valid=False, reason="truncated", witnessed_seq=target.seq)
    elif target is not None and at_target != target.hash:
        out.update(valid=False, reason="diverged", witnessed_seq=target.seq)
    return out


def row_json(row: Any) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "at": as_utc(row["at"]).isoformat(),
        "actor": row["actor"],
        "action": row["action"],
        "entity_type": row["entity_type"],
        "entity_id": row["entity_id"],
        "payload": row["payload"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


async def read(session: AsyncSession, table: sa.Table, *, from_seq: int, limit: int) -> dict[str, Any]:
    """Rows with ``seq >= from_seq`` in order, at most ``limit``; ``next_from`` continues (keyset)."""
    rows = (
        (await session.execute(sa.select(table).where(table.c.seq >= from_seq).order_by(table.c.seq).limit(limit + 1)))
        .mappings()
        .all()
    )
    items = [row_json(r) for r in rows[:limit]]
    return {"items": items, "next_from": rows[limit]["seq"] if len(rows) > limit else None}
