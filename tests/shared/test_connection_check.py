"""The pool's check of a PostgreSQL connection before it is handed out (issue #20 item 1): one
round trip (no BEGIN … ROLLBACK around it), and a connection the server closed is still found dead
and replaced, so the caller's statement succeeds."""

from __future__ import annotations

import asyncpg
import sqlalchemy as sa

from shared.db import Database


async def test_checkout_check_is_one_statement_and_replaces_a_dead_connection(postgres_backend):
    settings = postgres_backend.settings()
    db = Database(settings.database_url_for("pingtest"), service="pingtest")
    await db.ensure_database()
    try:
        async with db.engine.connect() as conn:
            pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            raw = (await conn.get_raw_connection()).driver_connection
            sent: list[str] = []
            raw.add_query_logger(lambda record: sent.append(record.query))
        # checked out again: the check runs, then the statement
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() == pid
        ping = sent.index(";")
        assert not any(q.strip().upper().startswith("BEGIN") for q in sent[:ping]), sent
        assert sum(1 for q in sent if q == ";") == 1

        admin = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        async with db.engine.connect() as conn:  # the check finds it dead; a new connection serves
            assert (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await db.dispose()
