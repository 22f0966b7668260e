"""When the outbox relay touches the database (issue #20 item 1): a commit that wrote no event
does not wake it, and one that did is published and marked without the outbox being read back —
the claiming pass runs only at start, after a bulk write, a failure, or once per poll period."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.wait import eventually
from shared.events.catalog import EventType
from tests.shared.fakesvc import enterprise_data, new_uuid, notes, producer_app


@contextmanager
def outbox_statements(runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "outbox" in statement:
            seen.append(" ".join(statement.split()[:3]))

    for engine in runtime.db.engines:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in runtime.db.engines:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_commits_without_events_leave_the_relay_asleep_and_events_are_not_read_back(backend):
    settings = backend.settings(relay_poll_seconds=60)  # no periodic pass within the test
    producer = producer_app(settings)
    async with running(producer) as pc:
        runtime = producer.state.runtime
        relay = runtime.relay
        await eventually(lambda: relay.accepting and not relay._sweep)  # the start's pass is done
        await asyncio.sleep(0.2)

        with outbox_statements(runtime) as seen:
            for i in range(3):
                async with runtime.unit_of_work() as uow:
                    await uow.session.execute(sa.insert(notes).values(id=uuid.uuid4(), name=f"quiet-{i}"))
            await asyncio.sleep(0.3)
        assert seen == []  # no wake, no query

        with outbox_statements(runtime) as seen:
            r = await pc.post("/notes", json={"name": "loud"})
            assert r.status_code == 201
            await eventually(lambda: relay.published_total >= 1)
            await asyncio.sleep(0.3)
        # the row written in the request's transaction, then marked published: nothing read back
        assert [s.split()[0] for s in seen] == ["INSERT", "UPDATE"], seen


async def test_a_bulk_write_is_claimed_and_published(backend):
    settings = backend.settings(relay_poll_seconds=60)
    producer = producer_app(settings)
    async with running(producer):
        runtime = producer.state.runtime
        await eventually(lambda: runtime.relay.accepting and not runtime.relay._sweep)
        async with runtime.unit_of_work() as uow:
            await uow.emit_many(
                [(EventType.ENTERPRISE_REGISTERED, enterprise_data(new_uuid(), f"bulk-{i}")) for i in range(5)]
            )
        await eventually(lambda: runtime.relay.published_total >= 5, timeout=10)
