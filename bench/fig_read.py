"""Figure 12 — the read path (issue #20 item 6): CPU per request of the public directory's list and
detail at the registry, against a bare FastAPI + SQLModel app reading the same rows of the same
database (``bench.apps.bare_read_app``), in the same run.

The whole platform runs (``bench.platform``), seeded with five approved agencies; requests go
straight to the registry (not through the gateway). Three ways of asking:

- *cold*: no ``If-None-Match`` and a cache miss every time (an ignored ``miss=<n>`` parameter makes
  each request another key of the rendered-body cache): the whole database path, plus the
  one-row read of the directory's generation;
- *warm*: the same URL again: the generation read and the cached body (200);
- *conditional*: ``If-None-Match`` with the current ETag: the generation read and a 304.

Each round measures the bare read and then the three, alternating for ``rounds`` rounds; the
median CPU per request of each process is reported (steadier than requests/s on a shared
machine). Target: ≤ 1.3× the bare read, each way of asking.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.common import Backend, Result, cpu_seconds, log, serving
from bench.load import closed_loop
from bench.platform import seed, start_platform

NAME = "read_path"
FIGURE = "12 read path"
BACKENDS = ("sqlite", "postgres")
TARGET = 1.3
AGENCIES = 5
DIRECTORY = "/api/v1/directory/agencies"


def getter(url: Callable[[int], str], *, expect: int, headers: dict[str, str] | None = None):
    async def op(http: aiohttp.ClientSession, i: int) -> None:
        async with http.get(url(i), headers=headers) as r:
            await r.read()
            if r.status != expect:
                raise RuntimeError(f"GET {url(i)}: {r.status}")

    return op


async def cpu_per_request(pid: int, op, *, duration: float, concurrency: int) -> dict[str, Any]:
    before = cpu_seconds(pid)
    m = await closed_loop(op, duration=duration, concurrency=concurrency, warmup=0.5)
    m["cpu_ms_per_request"] = round((cpu_seconds(pid) - before) / m["ops"] * 1000, 3) if m["ops"] else None
    return m


async def listed(platform, n: int) -> None:
    deadline = time.monotonic() + 60
    while True:  # the directory lists the agencies once registry has applied their approvals
        d = await platform.client.get(DIRECTORY)
        if d.status_code == 200 and len(d.json()["items"]) >= n:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the directory never listed the seeded agencies")
        await asyncio.sleep(0.3)


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = opts.duration or (3 if opts.quick else 6)
    rounds = 2 if opts.quick else 3
    concurrency = 8
    platform = await start_platform(backend)
    try:
        s = await seed(platform, enterprises=0, agencies=AGENCIES)
        await listed(platform, AGENCIES)
        env = {"BENCH_BARE_DATABASE_URL": platform.settings.database_url_for("registry")}
        async with serving("bench.apps:bare_read_app", env, backend.workdir / "bare_read.log") as bare:
            registry = platform.service_url("registry")
            registry_pid = platform.supervisor.component("registry").process.pid
            results = []
            shapes = {
                "list": (f"{DIRECTORY}?limit=20", "/entries?limit=20"),
                "detail": (f"{DIRECTORY}/{s.agency_id}", f"/entries/{s.agency_id}"),
            }
            for shape, (ours, theirs) in shapes.items():
                async with aiohttp.ClientSession() as http:
                    async with http.get(registry + ours) as r:
                        etag = r.headers["ETag"]
                        assert r.status == 200
                    async with http.get(bare.url + theirs) as r:
                        assert r.status == 200 and await r.read()
                sep = "&" if "?" in ours else "?"
                ways = {
                    "bare": (bare.process.pid, getter(lambda i, t=theirs: bare.url + t, expect=200)),
                    "cold": (
                        registry_pid,
                        getter(lambda i, o=ours, s=sep: f"{registry}{o}{s}miss={i}", expect=200),
                    ),
                    "warm": (registry_pid, getter(lambda i, o=ours: registry + o, expect=200)),
                    "conditional": (
                        registry_pid,
                        getter(lambda i, o=ours: registry + o, expect=304, headers={"If-None-Match": etag}),
                    ),
                }
                measured: dict[str, list[dict[str, Any]]] = {w: [] for w in ways}
                for _ in range(rounds):
                    for way, (pid, op) in ways.items():
                        measured[way].append(await cpu_per_request(pid, op, duration=duration, concurrency=concurrency))
                cpu = {w: statistics.median(m["cpu_ms_per_request"] for m in ms) for w, ms in measured.items()}
                errors = sum(m["errors"] for ms in measured.values() for m in ms)
                for way in ("cold", "warm", "conditional"):
                    ratio = cpu[way] / cpu["bare"]
                    log(
                        f"read path {shape} {way} on {backend.kind}: {cpu[way]:.3f} vs bare {cpu['bare']:.3f} "
                        f"CPU-ms/req = {ratio:.2f}x (target <= {TARGET}: {'met' if ratio <= TARGET else 'not met'})"
                    )
                    results.append(
                        Result(
                            FIGURE,
                            f"directory {shape} {way}: CPU/req ÷ bare read",
                            backend.kind,
                            round(ratio, 2),
                            f"{cpu[way]:.2f} vs {cpu['bare']:.2f} ms",
                            f"<= {TARGET}",
                            ratio <= TARGET and errors == 0,
                            {
                                "cpu_ms_per_request": cpu,
                                "rounds": measured,
                                "errors": errors,
                                "concurrency": concurrency,
                                "duration": duration,
                            },
                        )
                    )
            return results
    finally:
        await platform.stop()
