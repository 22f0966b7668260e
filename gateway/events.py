"""Every event the gateway emits (source ``/gateway``), one function each, written with the unit of
work's outbox in its transaction (``uow.emit``, shared/uow.py) and published by the relay after it
commits.

- ``organisation.*`` (SPEC §14): the notify service tells the bureau and the organisation.
- ``account.*`` (SPEC §15): notify addresses people through a read model of accounts fed by these
  alone — state-carrying (the whole account in each), ``version`` growing with every change.
- ``token.revoked``: every process (services and gateway replicas) keeps it in memory and refuses
  the tokens it names (shared.revocations) — revocation reaches a service called directly.
- ``key.rotated`` / ``key.revoked``: services refetch the JWKS at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.models import Account, Organisation
from shared.events.catalog import AccountChanged, EventType, OrganisationChanged, SigningKeyChanged, TokensRevoked
from shared.ids import new_id
from shared.uow import UnitOfWork

E = EventType


# --- organisations ---------------------------------------------------------------------------
def organisation_changed(org: Organisation, *, previous: str | None, reason: str | None) -> OrganisationChanged:
    return OrganisationChanged(
        id=org.uscc,
        version=org.version,
        uscc=org.uscc,
        kind=org.kind,
        name=org.name,
        status=org.status,
        district=org.district,
        admin_account_id=str(org.admin_account_id) if org.admin_account_id else None,
        reason=reason,
        previous_status=previous,
    )


async def organisation_registered(uow: UnitOfWork, org: Organisation) -> None:
    await uow.emit(E.ORGANISATION_REGISTERED, organisation_changed(org, previous=None, reason=None), subject=org.uscc)


async def organisation_verified(uow: UnitOfWork, org: Organisation, *, previous: str, reason: str | None) -> None:
    await uow.emit(
        E.ORGANISATION_VERIFIED, organisation_changed(org, previous=previous, reason=reason), subject=org.uscc
    )


async def organisation_rejected(uow: UnitOfWork, org: Organisation, *, previous: str, reason: str | None) -> None:
    await uow.emit(
        E.ORGANISATION_REJECTED, organisation_changed(org, previous=previous, reason=reason), subject=org.uscc
    )


async def organisation_suspended(uow: UnitOfWork, org: Organisation, *, previous: str, reason: str | None) -> None:
    await uow.emit(
        E.ORGANISATION_SUSPENDED, organisation_changed(org, previous=previous, reason=reason), subject=org.uscc
    )


async def organisation_reinstated(uow: UnitOfWork, org: Organisation, *, previous: str, reason: str | None) -> None:
    await uow.emit(
        E.ORGANISATION_REINSTATED, organisation_changed(org, previous=previous, reason=reason), subject=org.uscc
    )


async def organisation_reassigned(uow: UnitOfWork, org: Organisation, *, previous: str, reason: str | None) -> None:
    await uow.emit(
        E.ORGANISATION_REASSIGNED, organisation_changed(org, previous=previous, reason=reason), subject=org.uscc
    )


# --- accounts --------------------------------------------------------------------------------
def account_changed(account: Account) -> AccountChanged:
    return AccountChanged(
        id=str(account.id),
        version=account.version,
        username=account.username,
        role=account.role,
        org_uscc=account.org_uscc,
        district=account.district,
        email=account.email,
        language=account.language,
        display_name=account.display_name,
    )


async def _account(uow: UnitOfWork, event_type: EventType, account: Account) -> None:
    await uow.emit(event_type, account_changed(account), subject=str(account.id))


async def account_registered(uow: UnitOfWork, account: Account) -> None:
    """A new account (sign-up, invitation, admin-made, bootstrap; or one from before, announced once)."""
    await _account(uow, E.ACCOUNT_REGISTERED, account)


async def account_updated(uow: UnitOfWork, account: Account) -> None:
    """Its e-mail, language, display name, district or organisation changed; its status did not."""
    await _account(uow, E.ACCOUNT_UPDATED, account)


async def account_disabled(uow: UnitOfWork, account: Account) -> None:
    await _account(uow, E.ACCOUNT_DISABLED, account)


async def account_enabled(uow: UnitOfWork, account: Account) -> None:
    await _account(uow, E.ACCOUNT_ENABLED, account)


async def account_removed(uow: UnitOfWork, account: Account) -> None:
    """Removed from its organisation (by its admin, or with the old admin on a reassignment): disabled
    and bound to no organisation any more."""
    await _account(uow, E.ACCOUNT_REMOVED, account)


# --- tokens and keys -------------------------------------------------------------------------
async def tokens_revoked(
    uow: UnitOfWork,
    *,
    subjects: Iterable[str] = (),
    clients: Iterable[str] = (),
    jtis: Iterable[str] = (),
    not_before: float,
    until: float | None = None,
    reason: str,
) -> None:
    revocation_id = str(new_id())
    await uow.emit(
        E.TOKEN_REVOKED,
        TokensRevoked(
            id=revocation_id,
            version=1,
            subjects=sorted(set(subjects)),
            clients=sorted(set(clients)),
            jtis=sorted(set(jtis)),
            not_before=not_before,
            until=until,
            reason=reason,
        ),
        subject=revocation_id,
    )


async def key_rotated(uow: UnitOfWork, kid: str) -> None:
    await uow.emit(E.KEY_ROTATED, SigningKeyChanged(id=kid, version=1, kid=kid), subject=kid)


async def key_revoked(uow: UnitOfWork, kid: str) -> None:
    await uow.emit(E.KEY_REVOKED, SigningKeyChanged(id=kid, version=1, kid=kid), subject=kid)
