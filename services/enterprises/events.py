"""The events the enterprises service emits (payload: shared.events.catalog.EnterpriseChanged).

``enterprise.registered`` on create, ``enterprise.updated`` on a change of the record's fields,
``enterprise.risk_changed`` (with ``previous_risk_level``) whenever ``risk_level`` changes — by an
edit, an import or a hazard event — always in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events.catalog import EnterpriseChanged, EventType


def enterprise_changed(record: Mapping[str, Any], *, previous_risk_level: str | None = None) -> EnterpriseChanged:
    """The payload of an enterprise, from its column values (``Enterprise.columns()`` or an
    imported row): the catalog's fields plus context its consumers find useful."""
    return EnterpriseChanged(
        id=str(record["id"]),
        version=record["version"],
        uscc=record["uscc"],
        name=record["name"],
        industry=record["industry"],
        district_code=record["district_code"],
        town=record["town"],
        risk_level=record["risk_level"],
        previous_risk_level=previous_risk_level,
        village=record.get("village"),
        employees=record["employees"],
        major_hazard_source=record["major_hazard_source"],
        hazard_flags=list(record["hazard_flags"] or []),
        base_level=record["base_level"],
        address=record["address"],
        contact_name=record["contact_name"],
        contact_phone=record["contact_phone"],
    )


def change_events(
    record: Mapping[str, Any], *, created: bool, fields_changed: bool, previous_risk_level: str | None
) -> list[tuple[EventType, EnterpriseChanged]]:
    """The events one committed change of an enterprise produces, in order."""
    if created:
        return [(EventType.ENTERPRISE_REGISTERED, enterprise_changed(record))]
    events: list[tuple[EventType, EnterpriseChanged]] = []
    if fields_changed:
        events.append((EventType.ENTERPRISE_UPDATED, enterprise_changed(record)))
    if previous_risk_level is not None and previous_risk_level != record["risk_level"]:
        events.append(
            (EventType.ENTERPRISE_RISK_CHANGED, enterprise_changed(record, previous_risk_level=previous_risk_level))
        )
    return events
