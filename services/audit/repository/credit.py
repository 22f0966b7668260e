"""Credit files: readable by every signed-in principal (the grade is public in the directory, and
the file says why); records are added once per cause, and the file row serialises concurrent
causes of the same agency."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.audit.models import CreditFile, CreditKind, CreditRecord
from services.audit.repository import AuditRepository
from shared import scopes
from shared.auth import Principal
from shared.db import insert_ignore
from shared.i18n import text


class CreditFiles(AuditRepository[CreditFile]):
    model, label = CreditFile, text("诚信档案", "credit file")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.everything()

    def _key(self) -> sa.ColumnElement[Any]:
        return CreditFile.__table__.c.agency_id

    async def graded(self, grades: Sequence[str]) -> list[str]:
        """The agencies (ids) whose credit grade is one of ``grades`` now."""
        stmt = sa.select(col(CreditFile.agency_id)).where(col(CreditFile.grade).in_(list(grades)))
        return [str(agency_id) for agency_id in (await self.session.execute(stmt)).scalars()]

    async def locked(self, agency_id: uuid.UUID, *, score: int, grade: str, at: datetime) -> CreditFile:
        """The agency's file, created at ``score`` / ``grade`` if it has none yet, locked until the
        transaction ends (two causes of one agency then number their records one after the other)."""
        await insert_ignore(
            self.session,
            CreditFile.__table__,
            {
                "agency_id": agency_id,
                "score": score,
                "grade": grade,
                "version": 0,
                "updated_at": at,
            },
        )
        found = await self.find(agency_id, lock=True)
        assert found is not None  # inserted above or already there
        return found

    async def add_record(
        self,
        *,
        record_id: uuid.UUID,
        agency_id: uuid.UUID,
        kind: CreditKind,
        delta: int,
        ref: str | None,
        at: datetime,
        version: int,
        reason: str | None = None,
        recorded_by: str | None = None,
    ) -> bool:
        """Add the record unless one for the same cause (agency, kind, ref) exists; True if added.
        A record without a ref (a bureau's, without a document reference) never collides."""
        return await insert_ignore(
            self.session,
            CreditRecord.__table__,
            {
                "id": record_id,
                "agency_id": agency_id,
                "kind": kind,
                "delta": delta,
                "ref": ref,
                "reason": reason,
                "recorded_by": recorded_by,
                "at": at,
                "version": version,
            },
        )

    async def records(self, agency_id: uuid.UUID) -> list[CreditRecord]:
        stmt = sa.select(CreditRecord).where(col(CreditRecord.agency_id) == agency_id).order_by(col(CreditRecord.seq))
        return list((await self.session.execute(stmt)).scalars())

    async def record(self, record_id: uuid.UUID) -> CreditRecord:
        stmt = sa.select(CreditRecord).where(col(CreditRecord.id) == record_id)
        return (await self.session.execute(stmt)).scalar_one()
