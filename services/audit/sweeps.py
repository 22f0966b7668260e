"""Time-based transitions of the audit service (``POST /api/v1/admin/sweep?service=audit``, and the
periodic sweeper): hazards overdue, complaint overdue flags, missed visits, the dishonesty list's dates. Each step is a
conditional update or a locked re-read, so replicas sweeping at once do each thing once. Dates
(deadlines, due dates, the visits required so far) are compared with ``as_of``'s UTC date."""

from __future__ import annotations

from datetime import datetime

from services.audit import service
from services.audit.service import supervision
from shared.app import Runtime


async def overdue_hazards(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    return {"hazards_overdue": await service.mark_overdue_hazards(runtime.unit_of_work(), as_of=as_of.date())}


async def overdue_complaints(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    return await service.flag_overdue_complaints(runtime.unit_of_work(), as_of=as_of.date())


async def missed_visits(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    return {"visits_missed": await service.count_missed_visits(runtime.unit_of_work(), as_of=as_of.date())}


async def escalate_supervision(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    """Major-hazard cases not acknowledged in time (hours: compared with ``as_of`` itself)."""
    return {"supervision_escalated": await supervision.escalate_unacknowledged(runtime.unit_of_work(), as_of=as_of)}


async def credit_listings(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    return await service.sweep_listings(runtime.unit_of_work(), as_of=as_of.date())


SWEEPS = (overdue_hazards, overdue_complaints, missed_visits, escalate_supervision, credit_listings)
