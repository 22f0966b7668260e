"""Time-based transitions of the audit service (``POST /api/v1/admin/sweep?service=audit``):
hazards overdue, complaint overdue flags, missed visits. Every step is a conditional update, so
two replicas sweeping at once do each thing once."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.app import ServiceContext

from services.audit.service import complaints, compliance, hazards


async def sweep(ctx: ServiceContext, as_of: date) -> dict[str, Any]:
    result: dict[str, Any] = {"hazards_overdue": await hazards.sweep_overdue(ctx, as_of)}
    result.update(await complaints.sweep_overdue(ctx, as_of))
    result["visits_missed"] = await compliance.sweep_missed(ctx, as_of)
    return result
