"""One storage quota per organisation over every service that stores its files (SPEC §16: the
audit service's attachments and the registry's filing documents).

Each such service counts its own bytes in its own tables and announces the organisation's new
total on the bus (``storage.used``, in the same transaction as the upload); every other one keeps
the totals it hears in ``storage_usage`` (its own metadata, so its own migrations). The quota check
is this service's bytes + what the others announced + the new file, against
``attachment_quota_bytes``. Totals only grow, so the highest one heard wins (a redelivery or a late
event changes nothing). Across services the sum is as fresh as the bus: two uploads to two services
in the same instant may together pass the quota by at most one file each (docs/DECISIONS.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ErrorCode, PayloadTooLarge
from shared.events.catalog import EventType, StorageUsed
from shared.events.envelope import CloudEvent
from shared.i18n import text
from shared.readmodel import upsert_if_newer
from shared.uow import UnitOfWork

USAGE_TABLE = "storage_usage"


def usage_table(metadata: sa.MetaData) -> sa.Table:
    known: sa.Table | None = metadata.info.get(USAGE_TABLE)
    if known is not None:
        return known
    table = sa.Table(
        USAGE_TABLE,
        metadata,
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("org_role", sa.String(20), primary_key=True),
        sa.Column("org_uscc", sa.String(18), primary_key=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    metadata.info[USAGE_TABLE] = table
    return table


def keep_usage(table: sa.Table) -> Callable[[UnitOfWork, CloudEvent], Awaitable[None]]:
    """The consumer of ``storage.used``: another service's total for an organisation."""

    async def keep(uow: UnitOfWork, event: CloudEvent) -> None:
        data = StorageUsed.model_validate(event.data)
        if data.service == uow.runtime.name:
            return
        await upsert_if_newer(
            uow.session,
            table,
            {
                "service": data.service,
                "org_role": data.org_role,
                "org_uscc": data.org_uscc,
                "bytes": data.bytes,
                "received_at": uow.now,
            },
            key=["service", "org_role", "org_uscc"],
            version_column="bytes",
        )

    return keep


async def elsewhere(session: AsyncSession, table: sa.Table, *, service: str, org_role: str, org_uscc: str) -> int:
    """What the organisation stores in the other services (as last announced)."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(table.c.bytes), 0)).where(
        table.c.service != service, table.c.org_role == org_role, table.c.org_uscc == org_uscc
    )
    return int((await session.execute(stmt)).scalar_one())


def quota_exceeded(used: int, size: int, quota: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        text("本单位文件存储空间已满", "Your organisation's storage quota is used up"),
        code=ErrorCode.QUOTA_EXCEEDED,
        extra={"quota_bytes": quota, "used_bytes": used, "size": size},
    )


async def check_and_announce(
    uow: UnitOfWork, table: sa.Table, *, org_role: str, org_uscc: str, here: int, size: int
) -> None:
    """In the upload's transaction: 413 ``quota_exceeded`` when this service's ``here`` bytes (before
    the upload), the others' and ``size`` pass the quota; else announce the new total."""
    service = uow.runtime.name
    quota = uow.runtime.settings.attachment_quota_bytes
    used = here + await elsewhere(uow.session, table, service=service, org_role=org_role, org_uscc=org_uscc)
    if used + size > quota:
        raise quota_exceeded(used, size, quota)
    total = here + size
    await uow.emit(
        EventType.STORAGE_USED,
        {
            "id": f"{org_role}:{org_uscc}",
            "version": total,
            "service": service,
            "org_role": org_role,
            "org_uscc": org_uscc,
            "bytes": total,
        },
    )
