"""The events the enterprises service emits (payload: shared.events.catalog.EnterpriseChanged).

``enterprise.registered`` on create, ``enterprise.updated`` on a change of the record's fields,
``enterprise.risk_changed`` (with ``previous_risk_level``) whenever ``risk_level`` changes — by an
edit, an import or a hazard event — always in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any, Mapping



REGISTERED = "enterprise.registered"
UPDATED = "enterprise.updated"
RISK_CHANGED = "enterprise.risk_changed"


def enterprise_data(row: Mapping[str, Any], *, previous_risk_level: str | None = None) -> dict[str, Any]:
    """The event ``data`` of an enterprise row (the catalog fields plus useful context)."""
    data = {
        "id": str(row["id"]),
        "version": row["version"],
        "uscc": row["uscc"],
        "name": row["name"],
        "industry": row["industry"],
        "district_code": row["district_code"],
        "town": row["town"],
        "village": row.get("village"),
        "employees": row["employees"],
        "major_hazard_source": row["major_hazard_source"],
        "hazard_flags": list(row["hazard_flags"] or []),
        "risk_level": row["risk_level"],
        "base_level": row["base_level"],
    }
    if previous_risk_level is not None:
        data["previous_risk_level"] = previous_risk_level
    return data


def change_events(row: Mapping[str, Any], *, created: bool, fields_changed: bool,
                  previous_risk_level: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The events one committed change of ``row`` produces."""
    events: list[tuple[str, dict[str, Any]]] = []
    if created:
        events.append((REGISTERED, enterprise_data(row)))
        return events
    if fields_changed:
        events.append((UPDATED, enterprise_data(row)))
    if previous_risk_level is not None and previous_risk_level != row["risk_level"]:
        events.append((RISK_CHANGED, enterprise_data(row, previous_risk_level=previous_risk_level)))
    return events
