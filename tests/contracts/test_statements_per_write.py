"""How many SQL statements one contract write costs (issue #20 item 1): counted with SQLAlchemy's
``before_cursor_execute`` on the service's engines, from the request's first statement to its
response — the write transaction, any read before it, and the relay's work once the commit handed
it the events. A bound on the count is behaviour (what a write does), not timing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from devtools.testing.wait import eventually
from tests.contracts.factories import TODAY, world

# The statements of each write through the HTTP API (BEGIN / COMMIT are not statements here).
# Before issue #20 (SQLite): create 17, sign 12 and 18, file 15, review 23 — 85 for the flow.
# File and review + 1: the events' town (D60), read once when the write does not hold the
# enterprise already.
BOUNDS = {"create": 7, "sign_agency": 6, "sign_enterprise": 11, "file": 10, "review": 13}
AUDITED = ("file", "review")  # PostgreSQL: + the audit trail's advisory lock (shared.db.serialise)


@contextmanager
def counting(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split(None, 1)[0].upper() + " " + statement[:120].replace("\n", " "))

    engines = app.state.runtime.db.engines
    for engine in engines:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_each_write_of_a_custody_flow_runs_a_bounded_number_of_statements(backend):
    settings = backend.settings(relay_poll_seconds=60)  # the relay's periodic pass is not the write's
    async with world(settings) as w:
        relay = w.app.state.runtime.relay
        counts: dict[str, list[str]] = {}

        async def write(name, call, events):
            published = relay.published_total
            with counting(w.app) as statements:
                r = await call()
                assert r.status_code in (200, 201), r.text
                # the relay's marking of the published events belongs to the write
                await eventually(lambda: relay.published_total >= published + events, timeout=10)
                await asyncio.sleep(0.2)  # and whatever else the relay would do after
                counts[name] = list(statements)
            return r.json()

        body = w.body(start=TODAY, end=TODAY.replace(year=TODAY.year + 1, day=TODAY.day - 1))
        c = await write("create", lambda: w.client.post("/api/v1/contracts", json=body, headers=w.agency()), 1)
        sha = c["content_sha256"]
        sign = {"content_sha256": sha}
        await write("sign_agency", lambda: w.post(c["id"], "sign", w.agency(), sign), 0)
        c = await write("sign_enterprise", lambda: w.post(c["id"], "sign", w.enterprise(), sign), 1)
        assert c["status"] == "signed"
        c = await write("file", lambda: w.post(c["id"], "file", w.enterprise()), 2)
        review = {"decision": "accept", "comments": "同意备案"}
        c = await write("review", lambda: w.post(c["id"], "filing-review", w.bureau(), review), 3)
        assert c["status"] == "active"
        # the response still carries the whole history and the signatures
        assert [h["to"] for h in c["history"]] == ["draft", "signed", "filing", "filed", "active"]
        assert {s["party"] for s in c["signatures"]} == {"agency", "enterprise"}

        report = {name: len(s) for name, s in counts.items()}
        print("statements per write:", report)
        postgres = w.app.state.runtime.db.engine.dialect.name == "postgresql"
        for name, statements in counts.items():
            bound = BOUNDS[name] + (1 if postgres and name in AUDITED else 0)
            assert len(statements) <= bound, (name, len(statements), statements)
