"""What the contracts service consumes: agency status events and enterprise events.

Each handler runs inside the inbox transaction (exactly once per event id) and first updates the
read model; a stale event (version not newer than the read model's) changes nothing, cascades
included. Cascades:

- ``agency.suspended``: the agency's filed/active contracts → ``suspended`` (``previous_status``
  kept); ``agency.reinstated``: back to where they were; ``agency.revoked``: the agency's
  filed/active/suspended contracts → ``terminated``.
- ``enterprise.*`` with another name or district: the live contracts follow (history note, no
  event: the contract events carry both on their next change).
- ``enterprise.*`` with a risk level whose minimum inspections a live contract no longer meets →
  ``risk_flagged`` and ``contract.flagged``; when a later level is met again the flag is cleared
  and ``contract.flagged`` is emitted with ``risk_flagged: false`` so read models stay true.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.events.catalog import CATALOG, AgencyStatusChanged
from shared.events.envelope import CloudEvent
from shared.events.inbox import Handler
from shared.events.outbox import Outbox
from shared.policy import Policy

from services.contracts import readmodels
from services.contracts.events import emit
from services.contracts.models import Contract, infra
from services.contracts.rules import NON_TERMINAL_STATES, meets_risk
from services.contracts.service import note, terminate, transition

log = structlog.get_logger("contracts.consumers")

# Every agency status event of the catalog (agency.credit_changed has another payload: not ours).
AGENCY_STATUS_EVENTS = tuple(t for t, model in CATALOG.items() if model is AgencyStatusChanged)


def _reason(zh: str, en: str, detail: str | None) -> str:
    return f"{zh} / {en}" + (f": {detail}" if detail else "")


async def _contracts(session: AsyncSession, *where: Any) -> list[Contract]:
    stmt = sa.select(Contract).where(*where).order_by(Contract.id).with_for_update()
    return list((await session.execute(stmt)).scalars().all())


def make_handlers(*, clock: Clock, policy: Policy) -> dict[str, Handler]:
    outbox = Outbox(infra.outbox, clock)

    async def on_agency(session: AsyncSession, event: CloudEvent) -> None:
        applied, previous = await readmodels.apply_agency_event(session, event.data)
        if not applied:
            log.info("contracts.agency_event.stale", agency_id=event.data.get("id"), version=event.data.get("version"))
            return
        status = event.data.get("status")
        kind = event.type.split(".", 1)[1]
        actor = f"system:{event.type}"
        now = clock.now()
        detail = event.data.get("reason")
        agency_id = uuid.UUID(str(event.data["id"]))
        if kind == "suspended" or (status == "suspended" and previous != "suspended"):
            for c in await _contracts(session, Contract.agency_id == agency_id, Contract.status.in_(("filed", "active"))):
                c.previous_status = c.status
                await transition(session, outbox, c, "suspended", actor=actor, at=now,
                                 reason=_reason("机构备案被暂停", "agency suspended", detail))
        elif kind == "reinstated" or (status == "approved" and previous == "suspended"):
            for c in await _contracts(session, Contract.agency_id == agency_id, Contract.status == "suspended"):
                back = c.previous_status or "active"
                c.previous_status = None
                await transition(session, outbox, c, back, actor=actor, at=now,
                                 reason=_reason("机构恢复备案", "agency reinstated", detail))
        elif kind == "revoked" or status == "revoked":
            for c in await _contracts(session, Contract.agency_id == agency_id,
                                      Contract.status.in_(("filed", "active", "suspended"))):
                await terminate(session, outbox, infra.audit_trail, c, actor=actor, at=now,
                                reason=_reason("机构备案被撤销", "agency revoked", detail))

    async def on_enterprise(session: AsyncSession, event: CloudEvent) -> None:
        applied, _previous = await readmodels.apply_enterprise_event(session, event.data)
        if not applied:
            log.info("contracts.enterprise_event.stale", uscc=event.data.get("uscc"), version=event.data.get("version"))
            return
        level = str(event.data["risk_level"])
        now = clock.now()
        minimum = policy.min_visits_per_year.for_level(level)
        name, district = str(event.data["name"]), str(event.data["district_code"])
        for c in await _contracts(session, Contract.enterprise_uscc == event.data["uscc"],
                                  Contract.status.in_(NON_TERMINAL_STATES)):
            if (c.enterprise_name, c.district_code) != (name, district):
                # The filing bureau and the bureau's view follow the enterprise's current district.
                note(session, c, actor=f"system:{event.type}", at=now,
                     reason=f"企业信息变更 / enterprise changed: {c.enterprise_name} {c.district_code} → {name} {district}")
                c.enterprise_name, c.district_code = name, district
            flagged = not meets_risk(c.services, level, policy)
            if flagged == c.risk_flagged:
                continue
            c.risk_flagged = flagged
            if flagged:
                reason = (f"企业风险等级升为 {level}，隐患排查每年至少 {minimum} 次，协议频次不足，请主管局关注 / "
                          f"enterprise risk raised to {level}: hazard_inspection needs {minimum} a year, the contract falls short")
            else:
                reason = f"企业风险等级为 {level}，协议频次已满足，解除标记 / enterprise risk {level} is met again: flag cleared"
            note(session, c, actor=f"system:{event.type}", at=now, reason=reason)
            await session.flush()
            await emit(outbox, session, "contract.flagged", c, reason=reason)
            log.info("contracts.flagged", contract_id=str(c.id), flagged=flagged, risk_level=level)

    return {
        **{event_type: on_agency for event_type in AGENCY_STATUS_EVENTS},
        "enterprise.registered": on_enterprise,
        "enterprise.updated": on_enterprise,
        "enterprise.risk_changed": on_enterprise,
    }
