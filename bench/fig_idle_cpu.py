"""Figure — what an idle platform burns (issue #20 items 1–2): CPU per process per second, with
nothing to do.

The real platform (gateway, portal, the five services as uvicorn processes, and the NATS server of
the embedded default) is started, left alone ``--idle-settle`` seconds (default 10) and then measured
over ``--duration`` seconds (default 30) from ``/proc/<pid>/stat`` (user + system). The idle
consumers wait on the bus (one long pull per durable, shared.events.inbox.durables); the figure
shows what remains.

    .venv/bin/python -m bench.run --only idle_cpu --backend sqlite --duration 30
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Backend, Result, cpu_seconds, log
from bench.platform import start_platform

NAME = "idle_cpu"
FIGURE = "idle CPU"
BACKENDS = ("sqlite", "postgres")
SETTLE_SECONDS = 10.0


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = opts.duration or (10.0 if opts.quick else 30.0)
    platform = await start_platform(backend)
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        pids = {c.name: c.process.pid for c in platform.supervisor.components if c.process is not None}
        if backend.nats is not None and backend.nats.process is not None:
            pids["nats"] = backend.nats.process.pid
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        await asyncio.sleep(duration)
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    finally:
        await platform.stop()
    per_second = {name: (after[name] - before[name]) / duration * 1000 for name in pids}
    total = sum(per_second.values())
    detail = {
        "duration_s": duration,
        "ms_per_s": {k: round(v, 2) for k, v in per_second.items()},
        "command": f"python -m bench.run --only idle_cpu --backend {backend.kind} --duration {duration:g}",
    }
    log(f"idle CPU on {backend.kind}: {detail['ms_per_s']} total {total:.1f} ms/s")
    results = [Result(FIGURE, "all processes", backend.kind, round(total, 2), "ms CPU / s", "", None, detail)]
    results += [
        Result(FIGURE, name, backend.kind, round(value, 2), "ms CPU / s") for name, value in sorted(per_second.items())
    ]
    return results
