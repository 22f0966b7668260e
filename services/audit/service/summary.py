"""Counts by district for the bureau's dashboard (SPEC §12): hazards by status and level,
complaints by status and overdue, missed visits, audits by status. A district bureau gets its
district; the city bureau and admin get every district."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.app import ServiceContext
from shared.auth import Principal

from services.audit.models import AuditTask, Complaint, ContractView, Hazard, MissedVisitTally


def _scoped(stmt: sa.Select, column: Any, principal: Principal) -> sa.Select:
    return stmt if principal.sees_everything else stmt.where(column == principal.district)


async def summary(ctx: ServiceContext, *, principal: Principal) -> dict[str, Any]:
    principal.require_role("bureau", "admin")
    districts: dict[str, dict[str, Any]] = {}

    def bucket(code: str) -> dict[str, Any]:
        return districts.setdefault(code, {"hazards": {}, "major_hazards_open": 0, "complaints": {},
                                           "complaints_overdue": 0, "missed_visits": 0, "audits": {}})

    async with ctx.db.reader() as session:
        rows = await session.execute(_scoped(sa.select(Hazard.district_code, Hazard.status, Hazard.level, sa.func.count())
                                             .group_by(Hazard.district_code, Hazard.status, Hazard.level),
                                             Hazard.district_code, principal))
        for district, status, level, n in rows:
            b = bucket(district)
            b["hazards"][status] = b["hazards"].get(status, 0) + n
            if level == "major" and status in ("open", "overdue", "rectified"):
                b["major_hazards_open"] += n
        overdue = sa.or_(Complaint.response_overdue, Complaint.resolution_overdue)
        rows = await session.execute(_scoped(
            sa.select(Complaint.district_code, Complaint.status, sa.func.count(),
                      sa.func.sum(sa.case((overdue, 1), else_=0)))
            .group_by(Complaint.district_code, Complaint.status), Complaint.district_code, principal))
        for district, status, n, late in rows:
            b = bucket(district)
            b["complaints"][status] = n
            b["complaints_overdue"] += int(late or 0)
        rows = await session.execute(_scoped(
            sa.select(ContractView.district_code, sa.func.sum(MissedVisitTally.missed))
            .join(ContractView, ContractView.id == MissedVisitTally.contract_id)
            .group_by(ContractView.district_code), ContractView.district_code, principal))
        for district, missed in rows:
            bucket(district)["missed_visits"] = int(missed or 0)
        rows = await session.execute(_scoped(
            sa.select(AuditTask.district_code, AuditTask.status, sa.func.count())
            .group_by(AuditTask.district_code, AuditTask.status), AuditTask.district_code, principal))
        for district, status, n in rows:
            bucket(district)["audits"][status] = n
    return {"as_of": ctx.clock.today(), "districts": dict(sorted(districts.items()))}
