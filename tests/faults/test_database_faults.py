"""Database faults: PostgreSQL restarted under load (a private cluster on a free port), and a
SQLite writer kept waiting past ``busy_timeout``. The services reconnect by themselves; a write
that cannot be done is refused with a problem+json 503 and ``Retry-After`` — never a 500 — and a
write that was acknowledged is never lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter

import pytest

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from tests.faults import pg
from tests.faults.fakes import effect_counts, entities, items, reader_app, rows, writer_app
from tests.faults.helpers import record


@pytest.fixture
def private_pg():
    if not pg.available():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed on this machine")
    server = pg.PrivatePostgres().init()
    server.start()
    yield server
    server.destroy()


async def test_postgres_restarted_under_load(sqlite_backend, private_pg):
    settings = sqlite_backend.settings(database_url=private_pg.url)
    writer, reader = writer_app(settings), reader_app(settings)
    async with running(writer) as wc, running(reader):
        statuses: Counter[int] = Counter()
        acked: list[str] = []
        refused_bodies: list[dict] = []
        after_restart_acked = 0
        restarted = asyncio.Event()
        stop = asyncio.Event()

        async def load(w: int) -> None:
            nonlocal after_restart_acked
            i = 0
            while not stop.is_set():
                r = await wc.post("/items", json={"name": f"pg-{w}-{i}"})
                statuses[r.status_code] += 1
                if r.status_code == 201:
                    acked.append(r.json()["id"])
                    if restarted.is_set():
                        after_restart_acked += 1
                else:
                    refused_bodies.append(
                        {
                            "status": r.status_code,
                            "type": r.headers.get("content-type"),
                            "retry_after": r.headers.get("retry-after"),
                        }
                    )
                    await asyncio.sleep(0.05)
                i += 1

        workers = [asyncio.create_task(load(w)) for w in range(4)]
        await eventually(lambda: len(acked) >= 50, timeout=30)
        before = len(acked)
        t0 = time.monotonic()
        # A crash (immediate shutdown: recovery on start) and an outage longer than the consumer's
        # whole redelivery backoff (max_deliver=4: 0.25 + 0.5 + 1 s).
        await asyncio.to_thread(private_pg.stop, "immediate")
        await asyncio.sleep(4.0)
        await asyncio.to_thread(private_pg.start)
        restart_seconds = time.monotonic() - t0
        restarted.set()
        await eventually(lambda: after_restart_acked >= 50, timeout=60)
        stop.set()
        await asyncio.gather(*workers)

        stored = {str(r["id"]) for r in await rows(writer.state.runtime.db, items)}

        async def all_handled():
            counts = await effect_counts(reader.state.runtime.db)
            return counts if len(counts) >= len(acked) else None

        try:
            counts = await eventually(all_handled, timeout=60, interval=0.2)
        except AssertionError:
            dead = await reader.state.runtime.subscriber.list_dead_letters()
            handled = await effect_counts(reader.state.runtime.db)
            raise AssertionError(
                f"{len(acked) - len(handled)} acknowledged writes never applied by the consumer; "
                f"{len(dead)} dead-lettered: {[d['error'][:120] for d in dead[:3]]}"
            ) from None
        await asyncio.sleep(0.5)
        counts = await effect_counts(reader.state.runtime.db)
        model = {r["id"] for r in await rows(reader.state.runtime.db, entities)}
    record(
        "postgres-restarted-under-load",
        restart="pg_ctl stop -m immediate; 4 s down; pg_ctl start",
        restart_seconds=round(restart_seconds, 2),
        statuses=dict(statuses),
        writes_acknowledged=len(acked),
        acked_before_restart=before,
        acked_after_restart=after_restart_acked,
        refused=sum(v for k, v in statuses.items() if k != 201),
        refused_as=sorted({(b["status"], b["type"]) for b in refused_bodies}),
        rows_stored=len(stored),
        events_handled=len(counts),
        duplicate_effects=sum(c - 1 for c in counts.values()),
        losses=len(set(acked) - stored) + len(set(acked) - model),
    )
    assert 500 not in statuses, refused_bodies[:3]
    assert all(
        b["status"] == 503 and b["type"] == "application/problem+json" and b["retry_after"] for b in refused_bodies
    )
    assert set(acked) <= stored and set(acked) <= model
    assert len(counts) == len(stored) and all(c == 1 for c in counts.values())


async def test_sqlite_busy_past_timeout_is_503_not_500(sqlite_backend, monkeypatch):
    """Another process holds the write lock longer than busy_timeout: the request waits, then gets
    503 + Retry-After (problem+json); the same Idempotency-Key retried after the lock is gone
    succeeds exactly once."""
    import shared.db

    monkeypatch.setattr(shared.db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    settings = sqlite_backend.settings()
    writer = writer_app(settings)
    async with running(writer) as wc:
        assert (await wc.post("/items", json={"name": "warm-up"})).status_code == 201
        path = writer.state.runtime.db.url.split("///", 1)[1]
        locked, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            conn.execute("ROLLBACK")
            conn.close()

        holder = threading.Thread(target=hold_lock)
        holder.start()
        await asyncio.to_thread(locked.wait, 5)
        t0 = time.monotonic()
        r = await wc.post("/items", json={"name": "blocked"}, headers={"Idempotency-Key": "busy-1"})
        waited = time.monotonic() - t0
        release.set()
        await asyncio.to_thread(holder.join, 10)
        retry = await wc.post("/items", json={"name": "blocked"}, headers={"Idempotency-Key": "busy-1"})
        replay = await wc.post("/items", json={"name": "blocked"}, headers={"Idempotency-Key": "busy-1"})
        stored = [row for row in await rows(writer.state.runtime.db, items) if row["name"] == "blocked"]
    record(
        "sqlite-busy-past-timeout",
        busy_timeout_ms=300,
        first_status=r.status_code,
        first_content_type=r.headers.get("content-type"),
        retry_after=r.headers.get("retry-after"),
        waited_seconds=round(waited, 2),
        retry_status=retry.status_code,
        replay_status=replay.status_code,
        rows_stored=len(stored),
    )
    assert (
        r.status_code == 503
        and r.headers["content-type"] == "application/problem+json"
        and r.headers.get("retry-after")
    )
    assert (
        retry.status_code == 201 and replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    )
    assert len(stored) == 1
