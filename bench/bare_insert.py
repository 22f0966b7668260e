"""The reference of figure 3: requests/s of a bare FastAPI + SQLModel single-row insert endpoint
(``bench.apps.bare_app``) on a database of the same kind as the services', in the same run; and,
for the profile of our own write path, the same load against ``bench.apps.producer_app`` (one row +
its outbox event through every shared middleware, with the relay publishing)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import Backend, cpu_seconds, env_for, load_average, log, serving
from bench.load import closed_loop, post_json


class cpu_of:
    """CPU seconds a set of processes use from now on."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.start = sum(cpu_seconds(p) for p in pids)

    def used(self) -> float:
        return sum(cpu_seconds(p) for p in self.pids) - self.start

    def per_op(self, ops: int) -> float | None:
        return round(self.used() * 1000 / ops, 3) if ops else None


async def bare_insert_rps(backend: Backend, *, duration: float, concurrency: int) -> dict[str, Any]:
    env = {"BENCH_BARE_DATABASE_URL": backend.database_url("bare")}
    async with serving("bench.apps:bare_app", env, backend.workdir / "bare.log") as server:
        cpu = cpu_of(server.process.pid)
        m = await closed_loop(
            post_json(server.url + "/items", lambda i: {"name": f"item {i}"}),
            duration=duration,
            concurrency=concurrency,
            warmup=0,
        )
        m["cpu_ms_per_op"] = cpu.per_op(m["ops"])
        m["rss_mib"] = server.rss_mib()
        m["load_average"] = load_average()
    log(f"bare insert on {backend.kind}: {m['rate']} req/s, {m['cpu_ms_per_op']} CPU-ms/req ({m['errors']} errors)")
    return m


async def drain(backend: Backend, stream: str, *, timeout: float = 60.0) -> dict[str, Any]:
    """How far the relay lagged behind the writes when the load stopped: the number of writes
    answered (including warm-up) versus events in the stream then, and the seconds until equal."""
    import nats

    nc = await nats.connect(backend.nats_url)
    try:
        js = nc.jetstream()
        started = time.monotonic()
        first = (await js.stream_info(stream)).state.messages
        previous, stable_since = first, time.monotonic()
        while time.monotonic() - started < timeout:
            await asyncio.sleep(0.1)
            now = (await js.stream_info(stream)).state.messages
            if now != previous:
                previous, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since > 1.0:
                break
        return {
            "events_at_stop": first,
            "events_final": previous,
            "drain_seconds": round(max(0.0, stable_since - started), 2),
        }
    finally:
        await nc.close()


async def producer_write_rps(
    backend: Backend, *, duration: float, concurrency: int, profile: bool = False
) -> dict[str, Any]:
    settings = backend.settings()
    async with serving("bench.apps:producer_app", env_for(settings), backend.workdir / "producer-load.log") as server:
        recording = None
        if profile:
            from bench.common import VAR
            from bench.profiling import record

            recording = record(server.process.pid, VAR / "profiles" / f"shared_write-{backend.kind}")
        try:
            cpu = cpu_of(server.process.pid)
            m = await closed_loop(
                post_json(server.url + "/notes", lambda i: {"name": f"note {i}"}),
                duration=duration,
                concurrency=concurrency,
                warmup=0,
            )
            m.update(await drain(backend, settings.stream_name))
            m["cpu_ms_per_op"] = cpu.per_op(m["ops"])  # including the relay publishing every event
            m["load_average"] = load_average()
        finally:
            if recording:
                recording.stop()
        m["profile"] = str(recording.output) if recording else None
    log(f"shared write on {backend.kind}: {m['rate']} req/s, {m['cpu_ms_per_op']} CPU-ms/req ({m['errors']} errors)")
    return m
