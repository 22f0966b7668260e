"""Bounded storage (issue #20 item 3), on the real databases and NATS: published outbox rows, inbox
ids and idempotency records go after their windows and nothing a duplicate check still needs goes
with them; the stream has an age limit and dead letters none; an idempotency record never keeps a
secret nor an answer a retry may change; "too many clients" is a 503 with Retry-After."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import nats
import pydantic
import pytest
import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.events import make_event
from shared.clock import utcnow
from shared.purge import purge
from shared.settings import Settings
from tests.conftest import PG_BASE
from tests.shared.fakesvc import consumer_app, enterprise_data, producer_app

DAY = timedelta(days=1)


async def test_purge_removes_only_what_its_windows_allow(backend) -> None:
    settings = backend.settings(nats_url="nats://127.0.0.1:1")  # no bus: the relay cannot send the pending row
    app = producer_app(settings)
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime
        infra, now = runtime.infra, utcnow()

        def outbox_row(published_at, created_at):
            return {
                "id": uuid.uuid4(),
                "type": "enterprise.registered",
                "subject": "s",
                "data": {},
                "created_at": created_at,
                "published_at": published_at,
            }

        async with runtime.db.transaction() as session:
            await session.execute(
                sa.insert(infra.outbox),
                [
                    outbox_row(now - 2 * DAY, now - 2 * DAY),  # published long ago: goes
                    outbox_row(now - timedelta(hours=1), now - 2 * DAY),  # published an hour ago: stays
                    outbox_row(None, now - 30 * DAY),  # never published: an event still to send, stays
                ],
            )
            await session.execute(
                sa.insert(infra.inbox),
                [
                    {"consumer": "c", "event_id": "old", "event_type": "t", "processed_at": now - 15 * DAY},
                    {"consumer": "c", "event_id": "recent", "event_type": "t", "processed_at": now - 13 * DAY},
                ],
            )
            await session.execute(
                sa.insert(infra.idempotency),
                [
                    {
                        "scope": "s",
                        "key": key,
                        "method": "POST",
                        "path": "/x",
                        "body_sha256": "0" * 64,
                        "created_at": at,
                    }
                    for key, at in (("old", now - 2 * DAY), ("recent", now - timedelta(hours=2)))
                ],
            )
        purged = await purge(runtime.db, infra, settings, now)
        assert purged == {"purged_outbox": 1, "purged_inbox": 1, "purged_idempotency": 1}
        async with runtime.db.reader() as session:
            outbox = (await session.execute(sa.select(infra.outbox.c.published_at))).scalars().all()
            inbox = (await session.execute(sa.select(infra.inbox.c.event_id))).scalars().all()
            keys = (await session.execute(sa.select(infra.idempotency.c.key))).scalars().all()
        assert len(outbox) == 2 and None in outbox
        assert inbox == ["recent"] and keys == ["recent"]
        assert await purge(runtime.db, infra, settings, now) == dict.fromkeys(purged, 0)


async def test_a_purge_keeps_the_ids_a_duplicate_delivery_still_needs(backend) -> None:
    settings = backend.settings()
    consumer = consumer_app(settings)
    async with running(consumer):
        runtime = consumer.state.runtime
        event = make_event("enterprise.registered", enterprise_data(str(uuid.uuid4()), "dup"))
        handler = runtime.subscriber.handler_for(event.type)
        assert await runtime.subscriber.apply(event, handler) is True
        await runtime.sweep(runtime.clock.now() + 400 * DAY)  # a sweep "as of next year" purges by real time
        assert await runtime.subscriber.apply(event, handler) is False  # still a duplicate


def test_settings_refuse_an_inbox_window_shorter_than_the_stream_age() -> None:
    with pytest.raises(pydantic.ValidationError, match="INBOX_RETENTION_DAYS"):
        Settings(_env_file=None, stream_max_age_days=30, inbox_retention_days=7)


async def test_the_stream_ages_out_and_dead_letters_stay(backend) -> None:
    settings = backend.settings(stream_max_age_days=7)
    async with running(producer_app(settings)):
        pass
    nc = await nats.connect(settings.nats_servers)
    try:
        js = nc.jetstream()
        assert (await js.stream_info(settings.stream_name)).config.max_age == 7 * 86400
        assert not (await js.stream_info(f"{settings.stream_name}_DLQ")).config.max_age
    finally:
        await nc.close()
    # a changed setting reaches the existing stream at the next start
    changed = backend.settings(stream_max_age_days=3, stream_name=settings.stream_name)
    async with running(producer_app(changed)):
        pass
    nc = await nats.connect(settings.nats_servers)
    try:
        assert (await nc.jetstream().stream_info(settings.stream_name)).config.max_age == 3 * 86400
    finally:
        await nc.close()


async def test_an_answer_a_retry_may_change_is_never_the_keys_answer(backend) -> None:
    async with running(producer_app(backend.settings())) as client:
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = await client.post("/lookups", json={"name": "later"}, headers=key)
        assert first.status_code == 422 and first.json()["code"] == "agency_unknown"
        assert (await client.post("/notes", json={"name": "later"})).status_code == 201  # the read model catches up
        retry = await client.post("/lookups", json={"name": "later"}, headers=key)
        assert retry.status_code == 201, retry.text
        again = await client.post("/lookups", json={"name": "later"}, headers=key)
        assert again.status_code == 201 and again.json() == retry.json()


async def test_a_secret_shown_once_is_not_kept_by_its_idempotency_record(backend) -> None:
    app = producer_app(backend.settings())
    async with running(app) as client:
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = await client.post("/secrets", headers=key)
        assert first.status_code == 201 and first.json()["secret"].startswith("whsec_")
        replay = await client.post("/secrets", headers=key)
        assert replay.status_code == 201
        assert replay.json() == {**first.json(), "secret": "[redacted]"}
        table = app.state.runtime.infra.idempotency
        async with app.state.runtime.db.reader() as session:
            stored = (await session.execute(sa.select(table.c.response_body))).scalars().all()
        assert stored and all(first.json()["secret"].encode() not in body for body in stored)


async def test_too_many_clients_is_a_503_with_retry_after(postgres_backend) -> None:
    role = f"lim{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CREATEDB CONNECTION LIMIT 4')
    held: list[asyncpg.Connection] = []
    try:
        base = PG_BASE.replace("postgres@", f"{role}@", 1)
        settings = postgres_backend.settings(
            database_url=f"{base}/{postgres_backend.pg_prefix}",
            db_pool_size=1,
            db_max_overflow=0,
            relay_poll_seconds=60,  # an idle relay takes no connection while the slots are held
        )
        app = producer_app(settings)
        async with running(app, wait_for_bus=False) as client:
            assert (await client.post("/notes", json={"name": "before"})).status_code == 201
            answers = []
            for _ in range(5):  # the app may win a freed slot back once in a while: try again
                held_pids = {conn.get_server_pid() for conn in held}
                await admin.execute(  # the app's connections go (pool_pre_ping finds them dead) …
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND NOT pid = ANY($2)",
                    role,
                    list(held_pids),
                )
                while True:  # … and we take every slot the role has left
                    try:
                        held.append(await asyncpg.connect(f"{base}/postgres"))
                    except asyncpg.TooManyConnectionsError:
                        break
                r = await client.post("/notes", json={"name": "refused"})
                answers.append(r.status_code)
                if r.status_code == 503:
                    break
            assert set(answers) <= {201, 503} and answers[-1] == 503, answers
            assert r.headers["retry-after"] and r.headers["content-type"] == "application/problem+json"
            for conn in held:
                await conn.close()
            held.clear()
            assert (await client.post("/notes", json={"name": "after"})).status_code == 201
    finally:
        for conn in held:
            await conn.close()
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
        for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", postgres_backend.pg_prefix + "%"
        ):
            await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
