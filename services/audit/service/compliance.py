"""Compliance: required against recorded visits per service item of a contract; missed visits
counted by sweep (one ``visit.missed`` and one credit record, −2, per missed visit); the bureau's
dashboard of counts by district (SPEC §12).

``required_so_far = floor(times_per_year × elapsed days / term days)`` where the term counts both
its first and last day and elapsed days run from the start date to ``as_of`` inclusive (capped at
the term). Of the contract's service logs that include the item and fall within the term,
``recorded`` counts those that stand (SPEC §16): confirmed, or recorded and not disputed for
``confirm_window_days``; ``pending`` those still within that window or disputed; a void one counts
nowhere (docs/COMPLIANCE.md "Which visits count").

The sweep's grace rule: a visit falls due on the day ``required_so_far`` reaches it, and is missed
only once ``confirm_window_days`` more have passed — the sweep counts what was due on ``as_of −
confirm_window_days`` against the visits recorded, pending or standing (a visit awaiting the
enterprise or the bureau is not missed yet; voided, it is). A missed visit, once counted, stays
counted (a late visit does not undo it); the n-th missed visit of an item is ``visit.missed`` with
``missed`` = ``version`` = n and credit ref ``contract:item#n``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog

from services.audit import events
from services.audit.models import CreditKind, HazardLevel
from services.audit.repository.compliance import Dashboard, Visits
from services.audit.repository.readmodels import Contracts
from services.audit.service.credit import record_credit
from services.audit.states import READS_DASHBOARD, ContractStatus, HazardStatus, ServiceLogStatus
from shared.events.catalog import EventType
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.compliance")


@dataclass(frozen=True)
class VisitCounts:
    """Per item: the visits that stand and those awaiting confirmation or a decision."""

    counted: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)

    def standing(self, item: str) -> int:
        """Not void: what the missed-visit sweep holds against what was due."""
        return self.counted.get(item, 0) + self.pending.get(item, 0)


def count_visits(rows: list[tuple[list[str], str, datetime]], *, as_of: date, window_days: int) -> VisitCounts:
    """Confirmed, or recorded ``window_days`` ago or more without a dispute: counted; recorded more
    recently, or disputed: pending; void: neither."""
    counts = VisitCounts()
    for items, status, recorded_at in rows:
        if status == ServiceLogStatus.VOID:
            continue
        unchallenged = status == ServiceLogStatus.RECORDED and (as_of - recorded_at.date()).days >= window_days
        tally = counts.counted if status == ServiceLogStatus.CONFIRMED or unchallenged else counts.pending
        for item in set(items):
            tally[item] = tally.get(item, 0) + 1
    return counts


def due_by(as_of: date, grace_days: int) -> date:
    """The day whose due visits are missed on ``as_of`` (the grace rule)."""
    return as_of - timedelta(days=grace_days)


def required_so_far(times_per_year: int, start: date, end: date, as_of: date) -> int:
    term = (end - start).days + 1
    if term <= 0 or as_of < start:
        return 0
    elapsed = min((as_of - start).days + 1, term)
    return (times_per_year * elapsed) // term


@dataclass(frozen=True)
class ItemCompliance:
    item: str
    times_per_year: int
    required_so_far: int
    recorded: int
    pending: int
    missed: int


@dataclass(frozen=True)
class Compliance:
    contract_id: uuid.UUID
    agency_id: uuid.UUID
    status: str
    as_of: date
    start_date: date
    end_date: date
    items: list[ItemCompliance]


async def compliance_of(uow: UnitOfWork, *, contract_id: uuid.UUID) -> Compliance:
    as_of, window = uow.clock.today(), uow.policy.confirm_window_days
    async with uow.read() as session:
        contract = await Contracts(session).get(contract_id, uow.principal)
        visits = Visits(session)
        counts = count_visits(await visits.visits_of(contract), as_of=as_of, window_days=window)
        missed = await visits.missed_by_item(contract.id)
    items = [
        ItemCompliance(
            item=s["item"],
            times_per_year=s["times_per_year"],
            required_so_far=required_so_far(s["times_per_year"], contract.start_date, contract.end_date, as_of),
            recorded=counts.counted.get(s["item"], 0),
            pending=counts.pending.get(s["item"], 0),
            missed=missed.get(s["item"], 0),
        )
        for s in contract.services
    ]
    return Compliance(
        contract_id=contract.id,
        agency_id=contract.agency_id,
        status=contract.status,
        as_of=as_of,
        start_date=contract.start_date,
        end_date=contract.end_date,
        items=items,
    )


async def count_missed_visits(uow: UnitOfWork, *, as_of: date) -> int:
    """For each active contract and item, the visits missed so far; each newly missed one is
    counted, emitted and charged once (the tally moves by a conditional update, so replicas
    sweeping together count it once). The number newly counted."""
    async with uow.read() as session:
        contracts = await Contracts(session).in_states([ContractStatus.ACTIVE])
    newly, window = 0, uow.policy.confirm_window_days
    due_day = due_by(as_of, window)
    for contract in contracts:
        async with uow.read() as session:
            counts = count_visits(await Visits(session).visits_of(contract), as_of=as_of, window_days=window)
        for service in contract.services:
            item = service["item"]
            now_missed = max(
                0,
                required_so_far(service["times_per_year"], contract.start_date, contract.end_date, due_day)
                - counts.standing(item),
            )
            if now_missed == 0:
                continue
            async with uow:
                visits = Visits(uow.session)
                counted = await visits.counted_missed(contract.id, item, at=uow.now)
                if now_missed <= counted or not await visits.count_missed(
                    contract.id, item, counted=counted, now_missed=now_missed, at=uow.now
                ):
                    continue  # nothing new, or another replica counted it
                for n in range(counted + 1, now_missed + 1):
                    await uow.emit(
                        EventType.VISIT_MISSED,
                        await events.located(
                            uow.session, events.visit_missed(contract, item=item, missed=n, as_of=as_of)
                        ),
                    )
                    await record_credit(
                        uow, agency_id=contract.agency_id, kind=CreditKind.MISSED_VISIT, ref=f"{contract.id}:{item}#{n}"
                    )
                newly += now_missed - counted
    return newly


# --- the dashboard --------------------------------------------------------------------------------
@dataclass
class DistrictCounts:
    hazards: dict[str, int] = field(default_factory=dict)
    major_hazards_open: int = 0
    complaints: dict[str, int] = field(default_factory=dict)
    complaints_overdue: int = 0
    missed_visits: int = 0
    audits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ComplianceSummary:
    as_of: date
    districts: dict[str, DistrictCounts]


MAJOR_OPEN = frozenset(HazardStatus) - {
    HazardStatus.VERIFIED
}  # on the dashboard, a major hazard is open until verified


async def district_summary(uow: UnitOfWork) -> ComplianceSummary:
    """Hazards by status (and major ones not yet verified), complaints by status and overdue,
    missed visits counted, audits by status — per district the caller governs."""
    uow.principal.require_role(*READS_DASHBOARD)
    districts: dict[str, DistrictCounts] = {}
    async with uow.read() as session:
        dashboard = Dashboard(session, uow.principal)
        for district, status, level, n in await dashboard.hazards():
            counts = districts.setdefault(district, DistrictCounts())
            counts.hazards[str(status)] = counts.hazards.get(str(status), 0) + n
            if level == HazardLevel.MAJOR and status in MAJOR_OPEN:
                counts.major_hazards_open += n
        for district, status, n, late in await dashboard.complaints():
            counts = districts.setdefault(district, DistrictCounts())
            counts.complaints[str(status)] = n
            counts.complaints_overdue += int(late or 0)
        for district, missed in await dashboard.missed_visits():
            districts.setdefault(district, DistrictCounts()).missed_visits = int(missed or 0)
        for district, status, n in await dashboard.audits():
            districts.setdefault(district, DistrictCounts()).audits[str(status)] = n
    return ComplianceSummary(as_of=uow.clock.today(), districts=dict(sorted(districts.items())))
