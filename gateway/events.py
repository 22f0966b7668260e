"""Every event the gateway emits (source ``/gateway``), one function each, written to the gateway's
outbox in the caller's transaction (``shared.events.outbox``) and published by its relay.

- ``organisation.*`` (SPEC §14): the notify service tells the bureau and the organisation.
- ``token.revoked``: every process (services and gateway replicas) keeps it in memory and refuses
  the tokens it names (shared.revocations) — revocation reaches a service called directly.
- ``key.rotated`` / ``key.revoked``: services refetch the JWKS at once.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.outbox import Outbox
from shared.ids import new_id

from gateway.models import Organisation


def _organisation(org: Organisation, *, previous: str | None, reason: str | None) -> dict[str, Any]:
    return {"id": org.uscc, "version": org.version, "uscc": org.uscc, "kind": org.kind, "name": org.name,
            "status": org.status, "district": org.district,
            "admin_account_id": str(org.admin_account_id) if org.admin_account_id else None,
            "reason": reason, "previous_status": previous}


async def organisation_registered(outbox: Outbox, session: AsyncSession, org: Organisation) -> None:
    await outbox.emit(session, "organisation.registered", _organisation(org, previous=None, reason=None), subject=org.uscc)


async def organisation_verified(outbox: Outbox, session: AsyncSession, org: Organisation, *, previous: str,
                                reason: str | None) -> None:
    await outbox.emit(session, "organisation.verified", _organisation(org, previous=previous, reason=reason),
                      subject=org.uscc)


async def organisation_rejected(outbox: Outbox, session: AsyncSession, org: Organisation, *, previous: str,
                                reason: str | None) -> None:
    await outbox.emit(session, "organisation.rejected", _organisation(org, previous=previous, reason=reason),
                      subject=org.uscc)


async def organisation_suspended(outbox: Outbox, session: AsyncSession, org: Organisation, *, previous: str,
                                 reason: str | None) -> None:
    await outbox.emit(session, "organisation.suspended", _organisation(org, previous=previous, reason=reason),
                      subject=org.uscc)


async def organisation_reinstated(outbox: Outbox, session: AsyncSession, org: Organisation, *, previous: str,
                                  reason: str | None) -> None:
    await outbox.emit(session, "organisation.reinstated", _organisation(org, previous=previous, reason=reason),
                      subject=org.uscc)


async def organisation_reassigned(outbox: Outbox, session: AsyncSession, org: Organisation, *, previous: str,
                                  reason: str | None) -> None:
    await outbox.emit(session, "organisation.reassigned", _organisation(org, previous=previous, reason=reason),
                      subject=org.uscc)


async def tokens_revoked(outbox: Outbox, session: AsyncSession, *, subjects: Iterable[str] = (),
                         clients: Iterable[str] = (), jtis: Iterable[str] = (), not_before: float,
                         until: float | None = None, reason: str) -> None:
    revocation_id = str(new_id())
    await outbox.emit(session, "token.revoked", {
        "id": revocation_id, "version": 1, "subjects": sorted(set(subjects)), "clients": sorted(set(clients)),
        "jtis": sorted(set(jtis)), "not_before": not_before, "until": until, "reason": reason}, subject=revocation_id)


async def key_rotated(outbox: Outbox, session: AsyncSession, kid: str) -> None:
    await outbox.emit(session, "key.rotated", {"id": kid, "version": 1, "kid": kid}, subject=kid)


async def key_revoked(outbox: Outbox, session: AsyncSession, kid: str) -> None:
    await outbox.emit(session, "key.revoked", {"id": kid, "version": 1, "kid": kid}, subject=kid)
