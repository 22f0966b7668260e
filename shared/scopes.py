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


def district(principal: Principal, column: Any) -> sa.ColumnElement[bool]:
    """Rows in the principal's jurisdiction: all of them for admin, the city bureau and the
    service itself; its district's for a district bureau; none for anyone else."""
    if principal.sees_everything:
        return everything()
    if principal.role == Role.BUREAU and principal.district:
        condition: sa.ColumnElement[bool] = column == principal.district
        return condition
    return nothing()


def org(principal: Principal, role: Role, column: Any) -> sa.ColumnElement[bool]:
    """Rows of the principal's own organisation, when it acts in ``role`` (agency or enterprise)."""
    if principal.role == role and principal.org_uscc:
        condition: sa.ColumnElement[bool] = column == principal.org_uscc
        return condition
    return nothing()


def governs(principal: Principal, district_code: str | None) -> bool:
    """The same rule as ``district`` for a value already loaded (a body's district)."""
    return principal.governs(district_code)
