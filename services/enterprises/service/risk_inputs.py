"""An enterprise cannot move itself to another district, nor lower its own risk, on its own word
(issue #16, DECISIONS D44): such a change made by the enterprise itself waits as
``risk_inputs_pending`` until a bureau of its district accepts it, and the old values rule meanwhile.

- held: a change of ``district_code`` (with the ``town`` and ``village`` that go with it), and a
  change of the risk inputs (industry, employees, major-hazard source, hazard flags) that would give a
  lower base risk level than today's;
- everything else of the same PATCH applies at once, as does any change by a bureau;
- a later PATCH that touches a held group replaces that group's pending values (the enterprise's
  latest word is the one reviewed).

``POST /api/v1/enterprises/{id}/risk-inputs/review`` (the bureau of the enterprise's current district,
or the city) accepts — the values apply as a bureau's PATCH would, with the events it emits — or
rejects; either way the answer is kept as ``risk_inputs_review`` for the enterprise to read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

import structlog

from services.enterprises.models import RECORD_FIELDS, Enterprise
from services.enterprises.repository import Enterprises
from services.enterprises.risk import assess_record
from services.enterprises.service.apply import apply_record
from shared.errors import Conflict, Forbidden
from shared.i18n import text
from shared.reference import RISK_ORDER
from shared.uow import UnitOfWork

log = structlog.get_logger("enterprises.risk_inputs")

LOCATION_FIELDS = ("district_code", "town", "village")
RISK_INPUT_FIELDS = ("industry", "employees", "major_hazard_source", "hazard_flags")
Decision = Literal["accept", "reject"]


def held_changes(
    current: Mapping[str, Any], proposed: Mapping[str, Any], *, open_major_hazards: int, rules: Any
) -> dict[str, Any]:
    """The values of ``proposed`` (a validated whole record) that must wait for the bureau."""
    held: dict[str, Any] = {}
    if proposed["district_code"] != current["district_code"]:
        held.update({k: proposed[k] for k in LOCATION_FIELDS})
    if any(proposed[k] != current[k] for k in RISK_INPUT_FIELDS):
        with_new_inputs = {**current, **{k: proposed[k] for k in RISK_INPUT_FIELDS}}
        new_base = assess_record(with_new_inputs, open_major_hazards=open_major_hazards, rules=rules).base_level
        if RISK_ORDER.index(new_base) < RISK_ORDER.index(current["base_level"]):
            held.update({k: proposed[k] for k in RISK_INPUT_FIELDS})
    return held


def pending_after(
    pending: Mapping[str, Any] | None, *, touched: set[str], held: Mapping[str, Any], uow: UnitOfWork
) -> dict[str, Any] | None:
    """The pending change once a PATCH touching ``touched`` fields held ``held``: a group the PATCH
    touched is replaced (or withdrawn, when the enterprise set it back); the others stay."""
    kept = dict((pending or {}).get("changes", {}))
    for group in (LOCATION_FIELDS, RISK_INPUT_FIELDS):
        if touched & set(group):
            for name in group:
                kept.pop(name, None)
    kept.update(held)
    if not kept:
        return None
    if pending is not None and kept == pending.get("changes"):
        return dict(pending)
    return {"changes": kept, "submitted_at": uow.now.isoformat(), "submitted_by": uow.principal.actor}


async def review_risk_inputs(
    uow: UnitOfWork, *, enterprise_id: uuid.UUID, decision: Decision, comments: str | None
) -> Enterprise:
    async with uow:
        enterprise = await Enterprises(uow.session).get(enterprise_id, uow.principal, write=True)
        if not Enterprises.may_review_risk_inputs(uow.principal, enterprise.district_code, enterprise.town):
            raise Forbidden(
                text(
                    "只有企业所在区县的应急管理部门或市局可以审核",
                    "Only the bureau of the enterprise's district, or the city bureau, may review this",
                )
            )
        pending = enterprise.risk_inputs_pending
        if not pending:
            raise Conflict(
                text("该企业没有待审核的变更", "This enterprise has no change waiting for review"),
                extra={"enterprise_id": str(enterprise.id)},
            )
        enterprise.risk_inputs_review = {
            **pending,
            "decision": decision,
            "comments": comments,
            "reviewed_at": uow.now.isoformat(),
            "reviewed_by": uow.principal.actor,
        }
        enterprise.risk_inputs_pending = None
        if decision == "accept":
            current = enterprise.columns()
            values = {k: current[k] for k in RECORD_FIELDS} | pending["changes"]
            await apply_record(uow, enterprise, values)
        else:
            enterprise.version += 1
            enterprise.updated_at = uow.now
    log.info("enterprises.risk_inputs_reviewed", uscc=enterprise.uscc, decision=decision, actor=uow.principal.actor)
    return enterprise
