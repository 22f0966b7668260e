"""Count endpoints (docs/PORTAL.md "The count endpoints the dashboard needs", DECISIONS D53):
``GET /api/v1/<things>/counts?by=district,status[&the list's filters]`` →
``{"by": [...], "as_of": ..., "items": [{"district": ..., "status": ..., "count": n}], "total": n}``.

One shape for every service: ``by_param`` parses and validates ``by`` (422 for an unknown, repeated
or missing dimension), ``grouped`` builds the one ``GROUP BY`` over the rows the caller may read
(the repository passes its ``readable`` condition and the filters), ``counted`` runs it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import FieldError, ValidationFailed
from shared.i18n import text

MAX_BY = 200  # characters of ``by``

CountValue = str | int | None


class Counts(BaseModel):
    by: list[str] = Field(description="分组维度 / the dimensions grouped by")
    as_of: datetime = Field(description="统计时刻 / when the rows were counted")
    items: list[dict[str, CountValue]] = Field(
        description="每组一行：各维度的值与 count / one row per group: each dimension's value and its count"
    )
    total: int = Field(description="各组合计 / the sum of the counts")


def by_param(*allowed: str, default: str | None = None) -> Callable[[str], list[str]]:
    """A FastAPI dependency: ``?by=`` as a list of dimensions, each one of ``allowed``, none twice."""
    choices = ", ".join(allowed)

    def parse(by: str = default or ",".join(allowed)) -> list[str]:
        names = [part.strip() for part in by.split(",")]
        bad = [n for n in names if n not in allowed]
        if not by.strip() or bad or len(set(names)) != len(names):
            raise ValidationFailed(
                text("分组维度无效", "Invalid dimensions to count by"),
                errors=[
                    FieldError(
                        "by",
                        text(
                            f"可选维度：{choices}（每个最多一次）",
                            f"one or more of: {choices} (each at most once)",
                        ),
                    )
                ],
            )
        return names

    # a closure's annotations are not resolvable by name (``from __future__ import annotations``): set them
    parse.__annotations__ = {
        "by": Annotated[
            str,
            Query(max_length=MAX_BY, description=f"分组维度（逗号分隔）/ dimensions, comma-separated: {choices}"),
        ],
        "return": list[str],
    }
    return parse


def grouped(dimensions: Mapping[str, Any], by: Sequence[str], *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """``SELECT <by columns>, count(*) … WHERE <where> GROUP BY <by columns>``. Grouped and ordered
    by position: a dimension may be a correlated subquery (a town from a read model), which
    PostgreSQL cannot match between the select list and a repeated ``GROUP BY`` expression."""
    columns = [dimensions[name] for name in by]
    positions: list[sa.ColumnElement[Any]] = [sa.literal_column(str(i)) for i in range(1, len(columns) + 1)]
    return (
        sa.select(*[c.label(name) for c, name in zip(columns, by, strict=True)], sa.func.count().label("count"))
        .where(*where)
        .group_by(*positions)
        .order_by(*positions)
    )


def _plain(value: Any) -> CountValue:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def counted(session: AsyncSession, stmt: sa.Select[Any], by: Sequence[str], *, as_of: datetime) -> Counts:
    rows = (await session.execute(stmt)).all()
    items = [{**{name: _plain(row[i]) for i, name in enumerate(by)}, "count": int(row[-1])} for row in rows]
    return Counts(by=list(by), as_of=as_of, items=items, total=sum(int(row[-1]) for row in rows))
