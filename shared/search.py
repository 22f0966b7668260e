"""Substring search (``q=``) served by an index on both backends, Chinese included (D58).

A searchable entity keeps an n-gram table beside it: one row per (token, row id), the tokens
being every character and every pair of adjacent characters of its searched fields, after
``fold`` (NFKC without format characters, then case-folded). A query is folded the same way and
becomes its distinct bigrams (a one-character query: that character); the rows holding all of
them are the candidates, read from the (token, row id) primary key — one index range per token,
already in row-id order, so a page in id order stops after its LIMIT. The caller keeps its own
``LIKE`` on the candidates, so the results are exactly the substring matches they always were.

Neither ``pg_trgm`` (it drops CJK characters under a C locale and needs three characters) nor
FTS5's trigram tokenizer (three characters too) serves 江门 or 新; a bigram table does, the same
SQL on SQLite and PostgreSQL.

The tokens are written by the repository in the transaction that writes the row (``reindex`` /
``forget``) — no session listener. ``backfill_statements`` is for the migrations.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared import bulk
from shared.validation import normalise

TOKEN_LENGTH = 8  # a bigram of folded text: two characters, each folding to at most three
BATCH = 5_000  # row ids per DELETE


def fold(value: str) -> str:
    """The form tokens are cut from: NFKC, no format characters, case-folded (全角 ＡＢ → ab)."""
    return normalise(value).casefold()


def grams(value: str) -> set[str]:
    """Every character and every adjacent pair of characters of the folded ``value``."""
    text = fold(value)
    return set(text) | {text[i : i + 2] for i in range(len(text) - 1)}


def row_tokens(fields: Iterable[str | None]) -> set[str]:
    """The tokens of one row: the grams of each field (a pair never spans two fields)."""
    tokens: set[str] = set()
    for value in fields:
        if value:
            tokens |= grams(value)
    return tokens


def query_tokens(q: str) -> list[str]:
    """What a row must hold to contain ``q``: its distinct bigrams, or its only character. Any
    field containing the query contains them, so the candidates are a superset of the matches."""
    text = fold(q)
    if len(text) <= 1:
        return [text] if text else []
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


def query_text(q: str) -> str:
    """The query as the ``LIKE`` compares it: normalised as the stored names are (全角 → 半角)."""
    return normalise(q)


def token_table(metadata: sa.MetaData, name: str) -> sa.Table:
    """The n-gram table of one entity: primary key (token, row_id) — the index a query reads,
    in row-id order per token — and an index on row_id to rewrite one row's tokens."""
    return sa.Table(
        name,
        metadata,
        sa.Column("token", sa.String(TOKEN_LENGTH), primary_key=True),
        sa.Column("row_id", sa.Uuid, primary_key=True),
        sa.Index(f"ix_{name}_row_id", "row_id"),
        sqlite_with_rowid=False,
    )


RARE = 1_000  # a token's rows are counted up to this: enough to tell rare from common


async def matches(
    session: AsyncSession, table: sa.Table, row_id: sa.ColumnElement[uuid.UUID], q: str
) -> sa.ColumnElement[bool] | None:
    """The index clause for ``q`` on the entity whose id is ``row_id``, or None when the index
    would not help and the caller's LIKE alone decides (see D58):

    - the query's tokens are counted first, each up to ``RARE`` (one statement, a bounded range
      of the primary key each); a token no row holds: nothing matches;
    - a rare token: the rows holding the two rarest tokens are the candidates (at most ``RARE``),
      the LIKE checks them;
    - every token common (江门, 市, a digit): the matches are common too; on SQLite the page in id
      order with the LIKE stops after its LIMIT sooner than any list of candidates is read, on
      PostgreSQL the rarest token's rows are joined (its planner needs the token's statistics)."""
    tokens = query_tokens(q)
    if not tokens:
        return None
    counts = await token_counts(session, table, tokens)
    ranked = sorted(tokens, key=lambda token: (counts[token], token))
    if counts[ranked[0]] == 0:
        return sa.false()
    rare = [token for token in ranked[:2] if counts[token] < RARE]
    if not rare:
        if session.get_bind().dialect.name == "sqlite":
            return None  # SQLite walks the primary key with the LIKE and stops at the LIMIT
        # PostgreSQL estimates a LIKE as rare and would read the whole table to sort it: the
        # rarest token's rows, which its statistics know to be many, keep it on the id order
        rare = ranked[:1]
    t = table.c
    return sa.and_(*(row_id.in_(sa.select(t.row_id).where(t.token == token)) for token in rare))


async def token_counts(session: AsyncSession, table: sa.Table, tokens: Sequence[str]) -> dict[str, int]:
    """How many rows hold each token, counted up to ``RARE``."""

    def bounded(token: str) -> sa.Select[Any]:
        rows = sa.select(sa.literal(1).label("one")).where(table.c.token == token).limit(RARE).subquery()
        return sa.select(
            sa.literal(token).label("token"), sa.select(sa.func.count()).select_from(rows).scalar_subquery()
        )

    stmt = sa.union_all(*(bounded(token) for token in tokens))
    return {row[0]: int(row[1]) for row in (await session.execute(stmt)).all()}


def token_rows(rows: Mapping[uuid.UUID, Sequence[str | None]]) -> list[dict[str, object]]:
    return [{"token": token, "row_id": row_id} for row_id, fields in rows.items() for token in row_tokens(fields)]


async def forget(session: AsyncSession, table: sa.Table, row_ids: Iterable[uuid.UUID]) -> None:
    """Remove the tokens of these rows (the row was deleted, or is about to be re-indexed)."""
    ids = list(row_ids)
    for start in range(0, len(ids), BATCH):
        await session.execute(sa.delete(table).where(table.c.row_id.in_(ids[start : start + BATCH])))


async def reindex(
    session: AsyncSession, table: sa.Table, rows: Mapping[uuid.UUID, Sequence[str | None]], *, new: bool = False
) -> None:
    """Write the tokens of ``rows`` (row id → its searched fields), replacing what they had;
    ``new`` rows have none yet, so nothing is deleted first."""
    if not rows:
        return
    if not new:
        await forget(session, table, rows)
    # one COPY on PostgreSQL, one executemany on SQLite (shared.bulk): ~50 rows per entity
    key = bulk.uuid_key(session)

    def records() -> Iterator[tuple[str, object]]:
        for row_id, fields in rows.items():
            row = key(row_id)  # converted once for its ~50 tokens
            for token in row_tokens(fields):
                yield token, row

    await bulk.insert_records(session, table, ("token", "row_id"), records())


def backfill(connection: sa.Connection, table: sa.TableClause, source: sa.Select[Any]) -> int:
    """For a migration: the tokens of every existing row (``source`` selects id, field, field, ...);
    the number of token rows written."""
    connection.execute(sa.delete(table))
    count = 0
    rows = connection.execute(source).all()
    for start in range(0, len(rows), 1_000):
        values = token_rows({row[0]: row[1:] for row in rows[start : start + 1_000]})
        if values:
            connection.execute(sa.insert(table), values)
        count += len(values)
    return count
