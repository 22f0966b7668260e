"""Enterprises' credit files (SPEC §19): read through the enterprise (the bureau of its district or
the city, the enterprise itself: ``readmodels.Enterprises.readable``); records are added once per
cause, and the file row serialises concurrent causes of the same enterprise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import EnterpriseView
from services.audit.models.ecredit import EnterpriseCreditFile, EnterpriseCreditKind, EnterpriseCreditRecord
from services.audit.repository import AuditRepository
from services.audit.repository.readmodels import Enterprises
from shared.auth import Principal
from shared.db import insert_ignore
from shared.errors import Forbidden, NotFound
from shared.i18n import text


class EnterpriseCreditFiles(AuditRepository[EnterpriseCreditFile]):
    model, label = EnterpriseCreditFile, text("企业诚信档案", "enterprise credit file")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return Enterprises(self.session).readable(principal)

    def _key(self) -> sa.ColumnElement[Any]:
        return EnterpriseCreditFile.__table__.c.enterprise_uscc

    async def enterprise(self, enterprise_id: uuid.UUID, principal: Principal) -> EnterpriseView:
        """The enterprise (by its id, as the enterprises service names it) for ``principal`` to read
        its file: 404 when audit does not know it, 403 when it is not the principal's to see."""
        allowed = Enterprises(self.session).readable(principal).label("allowed")
        stmt = sa.select(EnterpriseView, allowed).where(col(EnterpriseView.id) == str(enterprise_id))
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise NotFound(text("企业不存在", "Enterprise not found"))
        if not row.allowed:
            raise Forbidden(text("无权访问该企业诚信档案", "You may not access this enterprise credit file"))
        enterprise: EnterpriseView = row[0]
        return enterprise

    async def locked(self, uscc: str, *, score: int, grade: str, at: datetime) -> EnterpriseCreditFile:
        """The enterprise's file, created at ``score`` / ``grade`` if it has none yet, locked until
        the transaction ends."""
        await insert_ignore(
            self.session,
            EnterpriseCreditFile.__table__,
            {"enterprise_uscc": uscc, "score": score, "grade": grade, "version": 0, "updated_at": at},
        )
        found = await self.find(uscc, lock=True)
        assert found is not None  # inserted above or already there
        return found

    async def add_record(
        self,
        *,
        record_id: uuid.UUID,
        uscc: str,
        kind: EnterpriseCreditKind,
        delta: int,
        ref: str,
        hazard_id: uuid.UUID | None,
        reason: str,
        at: datetime,
        version: int,
    ) -> bool:
        """Add the record unless one for the same cause (enterprise, kind, ref) exists; True if added."""
        return await insert_ignore(
            self.session,
            EnterpriseCreditRecord.__table__,
            {
                "id": record_id,
                "enterprise_uscc": uscc,
                "kind": kind,
                "delta": delta,
                "ref": ref,
                "hazard_id": hazard_id,
                "reason": reason,
                "at": at,
                "version": version,
            },
        )

    async def records(self, uscc: str) -> list[EnterpriseCreditRecord]:
        stmt = (
            sa.select(EnterpriseCreditRecord)
            .where(col(EnterpriseCreditRecord.enterprise_uscc) == uscc)
            .order_by(col(EnterpriseCreditRecord.seq))
        )
        return list((await self.session.execute(stmt)).scalars())
