"""Figure 6 — footprint: start-up time of the platform as ``make run`` starts it (the embedded
default: ``devtools.supervisor.Supervisor`` with its own nats-server, SQLite files, four services and
the gateway) until every component answers ``/readyz``; and the resident memory (VmRSS) of each
process after start and after a workload (``--flows`` custody flows through the gateway plus
directory reads).

Start-up is measured twice: on a fresh data directory (databases created and migrated) and again
on the same directory (what a restart costs). Target: ≤ 10 s to all ready.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Backend, Result, log, rss_mib
from bench.custody_flow import run_flows, wait_until_known
from bench.platform import BENCH_OVERRIDES, seed
from devtools.natsserver import free_port
from devtools.supervisor import Supervisor
from devtools.testing.platform import Platform

NAME = "footprint"
FIGURE = "6 footprint"
BACKENDS = ("sqlite",)  # the embedded default is what `make run` starts
TARGET_SECONDS = 10.0


def embedded_platform(backend: Backend) -> Platform:
    settings = backend.settings(**BENCH_OVERRIDES, nats_url=None, embedded_nats_port=free_port())
    platform = Platform(settings, backend.workdir / "logs")
    # Platform leaves NATS to the tests; here the supervisor starts its own, as `make run` does.
    platform.supervisor = Supervisor(settings=platform.settings, log_dir=backend.workdir / "logs")
    return platform


def rss_all(platform: Platform) -> dict[str, float | None]:
    out = {c.name: rss_mib(c.process.pid) if c.process else None for c in platform.supervisor.components}
    nats = platform.supervisor.nats
    if nats is not None and nats.process is not None:
        out["nats-server"] = rss_mib(nats.process.pid)
    return {k: round(v, 1) if v else v for k, v in out.items()}


async def start_timed(platform: Platform) -> float:
    started = time.monotonic()
    await platform.start(timeout=120)
    return time.monotonic() - started


async def run(backend: Backend, opts: Any) -> list[Result]:
    flows = opts.flows or (60 if opts.quick else 300)
    # 1. cold start: fresh data directory
    platform = embedded_platform(backend)
    cold = await start_timed(platform)
    await platform.stop()
    # 2. warm start on the same data, then a workload
    platform = embedded_platform(backend)
    try:
        warm = await start_timed(platform)
        after_start = rss_all(platform)
        log(f"footprint: cold start {cold:.1f} s, restart {warm:.1f} s; RSS after start {after_start}")
        s = await seed(platform, enterprises=flows)
        await wait_until_known(platform.client, s)
        m = await run_flows(platform.url, s, concurrency=opts.concurrency or 16)
        for _ in range(200):
            await platform.client.get("/api/v1/directory/agencies")
        after_load = rss_all(platform)
        log(f"footprint: RSS after {m['flows']} flows {after_load}")
    finally:
        await platform.stop()
    total_start = sum(v for v in after_start.values() if v)
    total_load = sum(v for v in after_load.values() if v)
    results = [
        Result(
            FIGURE,
            "start-up to all ready (fresh data dir)",
            "sqlite",
            round(cold, 2),
            "s",
            f"<= {TARGET_SECONDS:g} s",
            cold <= TARGET_SECONDS,
            {},
        ),
        Result(
            FIGURE,
            "start-up to all ready (restart)",
            "sqlite",
            round(warm, 2),
            "s",
            f"<= {TARGET_SECONDS:g} s",
            warm <= TARGET_SECONDS,
            {},
        ),
        Result(FIGURE, "RSS all processes after start", "sqlite", round(total_start, 1), "MiB", "", None, after_start),
        Result(
            FIGURE,
            f"RSS all processes after {m['flows']} flows",
            "sqlite",
            round(total_load, 1),
            "MiB",
            "",
            None,
            {**after_load, "flows": m},
        ),
    ]
    return results
