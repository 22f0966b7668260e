"""Writing a changed record onto an enterprise: the risk recomputed, the version moved on, and the
events of the change emitted in the same transaction (a PATCH, and an accepted pending change)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.enterprises import events
from services.enterprises.models import RECORD_FIELDS, Enterprise
from services.enterprises.repository import Enterprises, open_major_hazards
from services.enterprises.risk import assess_record
from shared.uow import UnitOfWork


async def emit_changes(
    uow: UnitOfWork, enterprise: Enterprise, *, fields_changed: bool, previous_risk_level: str | None
) -> None:
    for event_type, payload in events.change_events(
        enterprise.columns(), created=False, fields_changed=fields_changed, previous_risk_level=previous_risk_level
    ):
        await uow.emit(event_type, payload)


async def apply_record(uow: UnitOfWork, enterprise: Enterprise, values: Mapping[str, Any]) -> None:
    """Store ``values`` (a validated record) on ``enterprise``, inside the caller's transaction."""
    fields_changed = any(values[k] != getattr(enterprise, k) for k in RECORD_FIELDS)
    open_count = (await open_major_hazards(uow.session, [enterprise.uscc])).get(enterprise.uscc, 0)
    risk = assess_record(values, open_major_hazards=open_count, rules=uow.policy.risk_rules)
    previous_risk_level = enterprise.risk_level
    renamed = values["name"] != enterprise.name
    for name in RECORD_FIELDS:
        setattr(enterprise, name, values[name])
    enterprise.risk_level, enterprise.base_level = risk.risk_level, risk.base_level
    enterprise.version += 1
    enterprise.updated_at = uow.now
    if renamed:  # the q= index follows the name in this transaction
        await Enterprises(uow.session).reindex([enterprise.columns()])
    await emit_changes(uow, enterprise, fields_changed=fields_changed, previous_risk_level=previous_risk_level)
