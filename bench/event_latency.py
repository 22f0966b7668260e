"""Figure 2 — event latency: from a write's HTTP response to its event on the bus.

A service built on ``shared.app`` (``bench.apps.producer_app``: request-context, content-type and
idempotency middleware, one transaction writing a row and its outbox event, the relay) runs as a
real uvicorn process. One async client makes ``--writes`` sequential ``POST /notes``; a NATS
subscriber in the same process timestamps each event's arrival on the bus subject. Latency =
arrival − response received (negative when the event was on the bus before the client had read the
response). p50 and p99 over every write, after a warm-up that is not counted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import nats
import orjson

from bench.common import VAR, Backend, Result, env_for, log, percentile, serving

NAME = "event_latency"
FIGURE = "2 event latency"
BACKENDS = ("sqlite", "postgres")
TARGET_P99_MS = 25.0


async def measure(backend: Backend, *, writes: int, warmup: int = 50, profile: bool = False) -> dict[str, Any]:
    settings = backend.settings()
    log_file = backend.workdir / "producer.log"
    arrivals: dict[str, float] = {}
    responses: dict[str, float] = {}
    round_trips: list[float] = []
    async with serving("bench.apps:producer_app", env_for(settings), log_file) as server:
        nc = await nats.connect(backend.nats_url)

        async def on_message(msg: Any) -> None:
            arrivals.setdefault(orjson.loads(msg.data)["data"]["id"], time.perf_counter())

        await nc.subscribe(f"{settings.subject_prefix}.enterprise.registered", cb=on_message)
        await nc.flush()
        profiler = None
        try:
            connector = aiohttp.TCPConnector(limit=1)
            async with aiohttp.ClientSession(server.url, connector=connector) as http:

                async def write(i: int) -> str:
                    started = time.perf_counter()
                    async with http.post("/notes", json={"name": f"n{i}"}) as r:
                        body = await r.json()
                        assert r.status == 201, body
                    done = time.perf_counter()
                    responses[body["id"]] = done
                    round_trips.append(done - started)
                    return body["id"]

                for i in range(warmup):
                    await write(i)
                responses.clear()
                round_trips.clear()
                if profile:
                    from bench.profiling import record

                    profiler = record(server.process.pid, VAR / "profiles" / f"event_latency-{backend.kind}")
                for i in range(writes):
                    await write(i)
            deadline = time.monotonic() + 15
            while any(k not in arrivals for k in responses) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            if profiler is not None:
                profiler.stop()
            await nc.close()
    missing = [k for k in responses if k not in arrivals]
    latencies = [(arrivals[k] - t) * 1000 for k, t in responses.items() if k in arrivals]
    return {
        "writes": writes,
        "missing": len(missing),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "min_ms": min(latencies),
        "write_p50_ms": percentile([x * 1000 for x in round_trips], 50),
        "write_p99_ms": percentile([x * 1000 for x in round_trips], 99),
        "profile": str(profiler.output) if profiler else None,
        "slowest": sorted(((round(ms, 1), i) for i, ms in enumerate(latencies)), reverse=True)[:15],
    }


async def run(backend: Backend, opts: Any) -> list[Result]:
    writes = opts.writes or (1000 if not opts.quick else 300)
    log(f"event latency on {backend.kind}: {writes} sequential writes")
    m = await measure(backend, writes=writes, profile=getattr(opts, "profile", False))
    label = "embedded (SQLite + private nats-server)" if backend.kind == "sqlite" else "PostgreSQL + system NATS"
    return [
        Result(FIGURE, "p50", backend.kind, round(m["p50_ms"], 2), "ms", "", None, {**m, "setup": label}),
        Result(
            FIGURE,
            "p99",
            backend.kind,
            round(m["p99_ms"], 2),
            "ms",
            f"<= {TARGET_P99_MS:g} ms",
            m["p99_ms"] <= TARGET_P99_MS and m["missing"] == 0,
            {"setup": label, "missing": m["missing"]},
        ),
    ]
