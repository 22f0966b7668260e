"""The building blocks of ``readable`` / ``writable`` conditions (shared.repository): which rows
a principal's jurisdiction or organisation covers, as SQL. Only repositories use them. ``column``
is a Core column or an ORM attribute (``Contract.district_code``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.auth import Principal
from shared.roles import Role


def everything() -> sa.ColumnElement[bool]:
    return sa.true()


def nothing() -> sa.ColumnElement[bool]:
    return sa.false()


def any_of(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.or_(*conditions) if conditions else nothing()


def district(
    principal: Principal, column: Any, *, town: Any = None, district_wide: bool = False
) -> sa.ColumnElement[bool]:
    """Rows in the principal's jurisdiction: all of them for admin, the city bureau and the
    service itself; its district's for a district bureau; none for anyone else.

    A town bureau (SPEC §22) sees the rows of its district whose ``town`` (a column, or a scalar
    subquery reaching the enterprise's town through a read model) is its town. Rows with no town
    are refused to it (fail closed) unless the caller declares them ``district_wide`` (agencies:
    the district's, not one town's)."""
    if principal.sees_everything:
        return everything()
    district_code = principal.district_code
    if principal.role != Role.BUREAU or not district_code:
        return nothing()
    condition: sa.ColumnElement[bool] = column == district_code
    town_code = principal.town_code
    if town_code is None:
        return condition
    if town is not None:
        return sa.and_(condition, town == town_code)
    return condition if district_wide else nothing()


def in_area(column: Any, town_column: Any, *, district: str | None, town: str | None) -> sa.ColumnElement[bool]:
    """A list's ``district=`` / ``town=`` filters (already validated) as SQL."""
    conditions = []
    if district:
        conditions.append(column == district)
    if town:
        conditions.append(town_column == town)
    return sa.and_(sa.true(), *conditions)


def org(principal: Principal, role: Role, column: Any) -> sa.ColumnElement[bool]:
    """Rows of the principal's own organisation, when it acts in ``role`` (agency or enterprise)."""
    if principal.role == role and principal.org_uscc:
        condition: sa.ColumnElement[bool] = column == principal.org_uscc
        return condition
    return nothing()


def governs(
    principal: Principal, district_code: str | None, *, town: str | None = None, district_wide: bool = False
) -> bool:
    """The same rule as ``district`` for a value already loaded (a body's district)."""
    return principal.governs(district_code, town=town, district_wide=district_wide)


def may_ask_for(principal: Principal, district: str | None, town: str | None) -> bool:
    """Whether a bureau's ``district=`` / ``town=`` filter lies in its area (the filters checked
    by ``area_filter`` first): a district bureau its district and its towns, a town bureau its
    district (narrowed to its town by the scope) and its own town."""
    if principal.sees_everything:
        return True
    if district and district != principal.district_code:
        return False
    if town:
        town_code = principal.town_code
        if town_code is not None:
            return town == town_code
        from shared.reference import load_jurisdiction

        return load_jurisdiction().district_of(town) == principal.district_code
    return True
