"""Time-based work of notify (``POST /api/v1/admin/sweep?service=notify&as_of=``, and hourly):
the reminders of SPEC §15 — a complaint response due within 2 days (the agency), a hazard
deadline within 3 days (the enterprise), a filing's ``valid_until`` within 90 and within 30
days, an engineer's certificate within 60 days (the agency), each once — and the daily e-mail
digest of what was not mailed at once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.notify import service

if TYPE_CHECKING:
    from shared.app import Runtime


async def reminders(runtime: Runtime, as_of: datetime) -> dict[str, Any]:
    uow = runtime.unit_of_work()
    async with uow.read():
        due = await service.reminders_due(uow, as_of)
    sent = 0
    for reminder in due:
        if await service.send_reminder(runtime.unit_of_work(), reminder):
            sent += 1
    return {"reminders_sent": sent}


async def digests(runtime: Runtime, as_of: datetime) -> dict[str, Any]:
    return {"digests_sent": await service.send_digests(runtime, as_of)}


SWEEPS = (reminders, digests)
