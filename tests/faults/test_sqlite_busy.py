"""SQLite under write contention: two processes (and two engines in one process) writing the same
database file at once. Write transactions begin with ``BEGIN IMMEDIATE`` and wait up to
``busy_timeout``, so contention costs latency, never an error: no 500, nothing lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from shared.db import Database
from tests.faults.fakes import effect_counts, entities, items, reader_app, rows
from tests.faults.helpers import record, stream_ids
from tests.faults.procs import AppProcess


async def test_two_processes_hammer_one_sqlite_file(sqlite_backend, tmp_path):
    settings = sqlite_backend.settings(relay_poll_seconds=0.2)
    a = AppProcess("tests.faults.fakes:writer_from_env", settings, tmp_path / "logs" / "writer-a.log").start()
    b = AppProcess("tests.faults.fakes:writer_from_env", settings, tmp_path / "logs" / "writer-b.log")
    try:
        await asyncio.to_thread(a.wait_ready)  # creates the tables first
        b.start()
        await asyncio.to_thread(b.wait_ready)
        reader = reader_app(settings)
        statuses: Counter[int] = Counter()
        created: list[str] = []
        renames = 0
        versions: Counter[str] = Counter()
        async with running(reader), httpx.AsyncClient(timeout=60) as client:

            async def worker(base: str, w: int) -> None:
                nonlocal renames
                for i in range(40):
                    headers = {"Idempotency-Key": f"{base}-{w}-{i}"} if i % 2 else {}
                    if created and i % 3 == 2:  # read-then-write on rows the other process also writes
                        target = created[(w + i) % min(len(created), 5)]
                        r = await client.post(
                            f"{base}/items/{target}/rename", json={"name": f"{w}-{i}"}, headers=headers
                        )
                        if r.status_code == 200:
                            renames += 1
                            versions[target] += 1
                    else:
                        r = await client.post(f"{base}/items", json={"name": f"{w}-{i}"}, headers=headers)
                        if r.status_code == 201:
                            created.append(r.json()["id"])
                    statuses[r.status_code] += 1

            await asyncio.gather(*(worker(p.url, w) for p in (a, b) for w in range(6)))
            acked = len(created) + renames
            db = Database(settings.database_url_for("writer"), service="writer")
            try:
                async with db.reader() as s:
                    stored = {str(r.id): r.version for r in (await s.execute(sa.select(items.c.id, items.c.version)))}
            finally:
                await db.dispose()

            async def all_handled():
                counts = await effect_counts(reader.state.runtime.db)
                return counts if len(counts) >= acked else None

            counts = await eventually(all_handled, timeout=60, interval=0.2)
            await asyncio.sleep(0.5)
            counts = await effect_counts(reader.state.runtime.db)
            model = {r["id"]: r["version"] for r in await rows(reader.state.runtime.db, entities)}
        ids = await stream_ids(settings.nats_servers, settings.stream_name)
        record(
            "sqlite-two-writer-processes",
            requests=sum(statuses.values()),
            statuses=dict(statuses),
            writes_acknowledged=acked,
            rows_stored=len(stored),
            events_in_stream=len(ids),
            distinct_events=len(set(ids)),
            events_handled=len(counts),
            duplicate_effects=sum(c - 1 for c in counts.values()),
            losses=acked - len(counts),
        )
        assert set(statuses) <= {200, 201}, statuses
        assert set(stored) == set(created)
        assert all(stored[k] == 1 + versions[k] for k in stored)  # no lost update
        assert model == stored
        assert len(set(ids)) == acked and len(counts) == acked and all(c == 1 for c in counts.values())
    finally:
        a.stop()
        b.stop()


async def test_two_engines_read_then_write_the_same_row(tmp_path):
    """400 concurrent read-increment-write transactions from two independent engines on one
    file: every one commits, the counter is exact (no SQLITE_BUSY on lock upgrade, no lost update)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    counter = sa.Table(
        "counter",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    dbs = [Database(url, service="busy"), Database(url, service="busy")]
    async with dbs[0].engine.begin() as conn:
        await conn.run_sync(counter.metadata.create_all)
        await conn.execute(sa.insert(counter).values(id=1, n=0))
    errors: list[str] = []

    async def bump(db: Database) -> None:
        try:
            async with db.transaction() as s:
                n = (await s.execute(sa.select(counter.c.n).where(counter.c.id == 1))).scalar_one()
                await asyncio.sleep(0)  # let the other engine try to get in between
                await s.execute(sa.update(counter).where(counter.c.id == 1).values(n=n + 1))
        except Exception as exc:
            errors.append(type(exc).__name__ + ": " + str(exc)[:100])

    try:
        await asyncio.gather(*(bump(dbs[i % 2]) for i in range(400)))
        async with dbs[0].reader() as s:
            final = (await s.execute(sa.select(counter.c.n))).scalar_one()
    finally:
        for db in dbs:
            await db.dispose()
    record(
        "sqlite-two-engines-read-then-write",
        transactions=400,
        committed=final,
        errors=len(errors),
        lost_updates=400 - len(errors) - final,
    )
    assert errors == [] and final == 400
