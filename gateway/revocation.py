"""Revoking live access tokens at the gateway *and* at every service (SPEC §14).

A revocation is written to the gateway's database (``token_cutoffs`` for subjects and clients,
``revoked_tokens`` for single ``jti``s — every gateway replica reloads them), announced on the bus
(``token.revoked``, gateway/events.py) in the same transaction, and applied to this process's
in-memory set at once. Services learn it from the bus (shared.revocations); a token issued before
the cut-off is refused everywhere, cached or not.

Cut-offs are whole seconds after now (``iat`` is whole seconds): a token issued in the same second
as the revocation is refused too; an account re-enabled in that second just signs in again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from gateway import events
from gateway.models import RefreshToken, RevokedToken, TokenCutoff
from shared.clock import Clock
from shared.db import Database, dialect_insert, insert_ignore
from shared.revocations import REPLAY_SECONDS, Revocations
from shared.uow import UnitOfWork


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def cut_off(
    uow: UnitOfWork, revocations: Revocations, *, subjects: Iterable[str] = (), clients: Iterable[str] = (), reason: str
) -> float:
    """Revoke every access token of these accounts and clients issued until now; their refresh
    tokens too, in the unit of work's transaction. Returns the cut-off (epoch seconds)."""
    subjects, clients = sorted({str(s) for s in subjects}), sorted(set(clients))
    if not subjects and not clients:
        return 0.0
    session, clock = uow.session, uow.clock
    not_before = float(int(clock.now().timestamp()) + 1)
    forget_at = _at(not_before + REPLAY_SECONDS)
    table = TokenCutoff.__table__
    for kind, values in (("subject", subjects), ("client", clients)):
        for value in values:
            stmt = dialect_insert(session)(table).values(
                kind=kind, value=value, not_before=_at(not_before), forget_at=forget_at
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["kind", "value"], set_={"not_before": _at(not_before), "forget_at": forget_at}
                )
            )
    refresh = RefreshToken.__table__
    conditions = []
    if subjects:
        import uuid

        conditions.append(refresh.c.account_id.in_([uuid.UUID(s) for s in subjects]))
    if clients:
        conditions.append(refresh.c.client_id.in_(clients))
    await session.execute(
        sa.update(refresh).where(sa.or_(*conditions), refresh.c.revoked_at.is_(None)).values(revoked_at=clock.now())
    )
    await events.tokens_revoked(uow, subjects=subjects, clients=clients, not_before=not_before, reason=reason)
    revocations.add(subjects=subjects, clients=clients, not_before=not_before)
    return not_before


async def revoke_jtis(uow: UnitOfWork, revocations: Revocations, *, jtis: dict[str, datetime], reason: str) -> None:
    """Revoke single access tokens (``jti`` → its expiry), in the unit of work's transaction."""
    session, clock = uow.session, uow.clock
    live = {jti: exp for jti, exp in jtis.items() if isinstance(jti, str) and exp > clock.now()}
    if not live:
        return
    for jti, expires_at in live.items():
        await insert_ignore(
            session, RevokedToken.__table__, {"jti": jti, "expires_at": expires_at, "revoked_at": clock.now()}
        )
    until = max(exp for exp in live.values()).timestamp()
    await events.tokens_revoked(uow, jtis=list(live), not_before=clock.now().timestamp(), until=until, reason=reason)
    for jti, expires_at in live.items():
        revocations.add(jtis=[jti], until=expires_at.timestamp())


async def load(db: Database, revocations: Revocations, clock: Clock) -> None:
    """What the database says (other replicas' revocations, and ours after a restart)."""
    now = clock.now()
    async with db.reader() as session:
        jtis = (
            await session.execute(
                sa.select(col(RevokedToken.jti), col(RevokedToken.expires_at)).where(col(RevokedToken.expires_at) > now)
            )
        ).all()
        cutoffs = (
            await session.execute(
                sa.select(col(TokenCutoff.kind), col(TokenCutoff.value), col(TokenCutoff.not_before)).where(
                    col(TokenCutoff.forget_at) > now
                )
            )
        ).all()
    from shared.clock import as_utc

    for jti, expires_at in jtis:
        revocations.add(jtis=[jti], until=as_utc(expires_at).timestamp())
    for kind, value, not_before in cutoffs:
        at = as_utc(not_before).timestamp()
        revocations.add(
            subjects=[value] if kind == "subject" else [], clients=[value] if kind == "client" else [], not_before=at
        )


async def purge(session: AsyncSession, clock: Clock) -> None:
    await session.execute(sa.delete(TokenCutoff.__table__).where(TokenCutoff.__table__.c.forget_at < clock.now()))


def forget_after() -> timedelta:
    return timedelta(seconds=REPLAY_SECONDS)
