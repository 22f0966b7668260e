"""The contracts sweep: the time-based steps (service.schedule) as of a moment — activation,
expiry, the expiry notice — each contract in its own unit of work, so that one failing contract is
logged and retried on the next sweep without stopping the others."""

from __future__ import annotations

from datetime import datetime

import structlog

from services.contracts import service
from services.contracts.states import ACTIVATE, EXPIRE, NOTIFY_EXPIRING
from shared.app import Runtime

log = structlog.get_logger("contracts.sweeps")

COUNTED_AS = {ACTIVATE: "activated", EXPIRE: "expired", NOTIFY_EXPIRING: "expiring"}


async def contract_dates(runtime: Runtime, as_of: datetime) -> dict[str, int]:
    """Every contract step due as of ``as_of`` (its date: contract terms are dates)."""
    day = as_of.date()
    counts = {"activated": 0, "expiring": 0, "expired": 0, "failed": 0}
    for action in service.DUE_STEPS:
        for contract_id in await service.due(runtime.unit_of_work(), action=action, as_of=day):
            try:
                if await service.take_due_step(
                    runtime.unit_of_work(), contract_id=contract_id, action=action, as_of=day
                ):
                    counts[COUNTED_AS[action]] += 1
            except Exception as exc:  # one bad row must not stop the sweep
                counts["failed"] += 1
                log.warning("contracts.sweep.failed", step=str(action), contract_id=str(contract_id), error=str(exc))
    if any(counts.values()):
        log.info("contracts.sweep.done", as_of=day.isoformat(), **counts)
    return counts


SWEEPS = (contract_dates,)
