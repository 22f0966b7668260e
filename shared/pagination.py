"""Cursor (keyset) pagination: ``?limit=`` (default 50, max 200) and ``?cursor=`` →
``{"items": [...], "next_cursor": ...}``.

Cursors are opaque (URL-safe base64 JSON of the last row's sort key) and stable under inserts;
ids are time-ordered UUIDs, so ordering by id is ordering by creation.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel

from shared.errors import FieldError, ValidationFailed
from shared.i18n import text

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=sa.Select[*tuple[Any, ...]])  # any arity of columns
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


async def page_params(  # async: a plain def dependency is run on a worker thread (a hop per request)
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数 / page size (1–200)")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500, description="上一页返回的 next_cursor")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(
        [str(v) if not isinstance(v, (int, float, str, type(None))) else v for v in values], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong shape")
        return values
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            text("分页游标无效", "Invalid cursor"), errors=[FieldError("cursor", text("无效的游标", "invalid cursor"))]
        ) from exc


def keyset(
    stmt: SelectT,
    columns: Sequence[sa.ColumnElement[Any]],
    params: PageParams,
    *,
    descending: bool = False,
    convert: Sequence[Any] | None = None,
) -> SelectT:
    """Order ``stmt`` by ``columns`` and start after the cursor; fetch one extra row to know if
    there is a next page. ``convert`` turns cursor strings back into column values."""
    order = [c.desc() if descending else c.asc() for c in columns]
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    if params.cursor:
        values = decode_cursor(params.cursor, len(columns))
        if convert:
            try:
                values = [conv(v) if conv else v for conv, v in zip(convert, values, strict=False)]
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValidationFailed(
                    text("分页游标无效", "Invalid cursor"), errors=[FieldError("cursor", "invalid cursor")]
                ) from exc
        left = sa.tuple_(*columns)
        right = sa.tuple_(*[sa.literal(v) for v in values]) if len(values) > 1 else None
        if len(columns) == 1:
            stmt = stmt.where(columns[0] < values[0] if descending else columns[0] > values[0])
        else:
            stmt = stmt.where(left < right if descending else left > right)
    return stmt


def page_of(rows: Sequence[T], params: PageParams, key: Any) -> tuple[list[T], str | None]:
    """Split the extra row off; ``key(row)`` gives the sort values of the last row."""
    items = list(rows[: params.limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > params.limit and items else None
    return items, next_cursor
