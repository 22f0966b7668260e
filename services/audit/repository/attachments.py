"""Attachments: an upload is its organisation's; it is seen by that organisation and by whoever
may read a record naming it (the records' own ``readable``, in the same statement)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import Hazard, ServiceLog
from services.audit.models.attachments import Attachment, AttachmentRecord, AttachmentRef
from services.audit.repository import AuditRepository
from services.audit.repository.hazards import Hazards
from services.audit.repository.servicelogs import ServiceLogs
from shared import scopes
from shared.auth import Principal
from shared.errors import Forbidden
from shared.i18n import text


def _names(kind: AttachmentRecord, record_id: Any, readable: sa.ColumnElement[bool]) -> sa.Exists:
    return sa.exists(
        sa.select(sa.literal(1))
        .select_from(AttachmentRef)
        .where(
            col(AttachmentRef.attachment_id) == col(Attachment.id),
            col(AttachmentRef.record_kind) == kind,
            col(AttachmentRef.record_id) == record_id,
            readable,
        )
    )


class Attachments(AuditRepository[Attachment]):
    model, label = Attachment, text("附件", "attachment")

    @staticmethod
    def owner(principal: Principal) -> tuple[str, str]:
        """The organisation an upload of ``principal`` belongs to: (role, USCC); 403 without one."""
        if not principal.org_uscc:
            raise Forbidden(text("令牌未标明所属单位", "The token names no organisation"))
        return str(principal.role), principal.org_uscc

    def own(self, principal: Principal) -> sa.ColumnElement[bool]:
        if not principal.org_uscc:
            return scopes.nothing()
        condition: sa.ColumnElement[bool] = sa.and_(
            col(Attachment.org_uscc) == principal.org_uscc, col(Attachment.org_role) == str(principal.role)
        )
        return condition

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            self.own(principal),
            _names(AttachmentRecord.SERVICE_LOG, col(ServiceLog.id), ServiceLogs(self.session).readable(principal)),
            _names(AttachmentRecord.HAZARD, col(Hazard.id), Hazards(self.session).readable(principal)),
        )

    async def visible(self, attachment_id: uuid.UUID, principal: Principal) -> Attachment | None:
        """The attachment when ``principal`` may see it (None otherwise: existence is not told)."""
        found = await self.with_access(attachment_id, principal)
        return found[0] if found is not None and found[1] else None

    async def owned(self, ids: Iterable[uuid.UUID], principal: Principal) -> set[uuid.UUID]:
        """Those of ``ids`` that are the principal's organisation's."""
        wanted = list(ids)
        if not wanted:
            return set()
        stmt = sa.select(col(Attachment.id)).where(col(Attachment.id).in_(wanted), self.own(principal))
        return set((await self.session.execute(stmt)).scalars())

    async def used_bytes(self, principal: Principal) -> int:
        stmt = sa.select(sa.func.coalesce(sa.func.sum(col(Attachment.size)), 0)).where(self.own(principal))
        return int((await self.session.execute(stmt)).scalar_one())

    async def sha_in_use(self, sha256: str) -> bool:
        stmt = sa.select(col(Attachment.id)).where(col(Attachment.sha256) == sha256).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def name(self, kind: AttachmentRecord, record_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
        """``record_id`` names ``ids`` (those it named already, e.g. on an earlier rectification, stay)."""
        named = sa.select(col(AttachmentRef.attachment_id)).where(
            col(AttachmentRef.record_kind) == kind, col(AttachmentRef.record_id) == record_id
        )
        already = set((await self.session.execute(named)).scalars())
        self.session.add_all(
            AttachmentRef(attachment_id=a, record_kind=kind, record_id=record_id)
            for a in dict.fromkeys(ids)
            if a not in already
        )
        await self.session.flush()
