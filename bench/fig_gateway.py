"""Figure 1 — gateway overhead: requests/s through the gateway ÷ straight to the service, for the
public ``GET /api/v1/directory/agencies`` (registry) and an authenticated
``GET /api/v1/contracts/{id}`` (contracts; the agency party's bearer token, verified by the service
in both cases and additionally checked against the revocation list by the gateway).

The whole platform runs (``bench.platform``), seeded with an approved agency and one contract.
Load: wrk (1 thread, ``--connections``), direct and gateway runs alternating for ``--rounds`` rounds
on the same processes; the median of each is reported, with the CPU time per request of each
process (steadier than requests/s on a shared machine). ``bench/gateway_overhead.py`` (the gateway
engineer's) measures the same for a registry-only set-up and other paths.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.common import Backend, Result, cpu_seconds, log
from bench.custody_flow import contract_body, wait_until_known
from bench.load import aiohttp_get_rps, wrk, wrk_available
from bench.platform import seed, start_platform

NAME = "gateway_overhead"
FIGURE = "1 gateway overhead"
BACKENDS = ("sqlite", "postgres")
TARGET = 0.7


async def cpu_per_request(
    url: str, pids: dict[str, int], headers: dict[str, str], *, duration: float, connections: int
) -> dict[str, Any]:
    """Load one GET URL for ``duration``; its rate and the CPU each process spent per request."""
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    if wrk_available():
        m = await asyncio.to_thread(wrk, url, duration=duration, connections=connections, headers=headers)
    else:
        r = await aiohttp_get_rps(url, duration=duration, concurrency=connections, headers=headers)
        m = {"rps": r["rate"], "non2xx": r["errors"], "command": "aiohttp"}
    requests = m["rps"] * duration
    m["cpu_us_per_request"] = {
        k: round((cpu_seconds(p) - before[k]) / requests * 1e6, 1) if requests else None for k, p in pids.items()
    }
    return m


async def measure_pair(
    platform,
    service: str,
    path: str,
    headers: dict[str, str],
    *,
    duration: float,
    connections: int,
    rounds: int,
) -> dict[str, Any]:
    direct_url = platform.service_url(service) + path
    gateway_url = platform.url + path
    pids = {
        "service": platform.supervisor.component(service).process.pid,
        "gateway": platform.supervisor.component("gateway").process.pid,
    }

    async def one(url: str) -> dict[str, Any]:
        return await cpu_per_request(url, pids, headers, duration=duration, connections=connections)

    await one(direct_url)  # warm-up
    await one(gateway_url)
    direct, through = [], []
    for _ in range(rounds):
        direct.append(await one(direct_url))
        through.append(await one(gateway_url))
        log(f"  {path}: direct {direct[-1]['rps']:.0f} req/s, gateway {through[-1]['rps']:.0f} req/s")
    d = statistics.median(m["rps"] for m in direct)
    g = statistics.median(m["rps"] for m in through)
    return {
        "direct_rps": d,
        "gateway_rps": g,
        "ratio": g / d if d else 0.0,
        "rounds": {"direct": direct, "gateway": through},
        "non2xx": sum(m["non2xx"] for m in direct + through),
    }


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = opts.duration or (3 if opts.quick else 8)
    rounds = 2 if opts.quick else 3
    connections = 32
    platform = await start_platform(backend)
    try:
        s = await seed(platform, enterprises=1)
        await wait_until_known(platform.client, s)
        _actor, e_uscc = s.enterprises[0]
        r = await platform.client.post(
            "/api/v1/contracts", json=contract_body(e_uscc, s.agency_id, s.engineers[0]), headers=s.agency.headers
        )
        assert r.status_code == 201, r.text
        contract_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while True:  # the directory lists the agency once registry has applied its own approval
            d = await platform.client.get("/api/v1/directory/agencies")
            if d.status_code == 200 and d.json()["items"]:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the directory never listed the seeded agency")
            await asyncio.sleep(0.3)
        results = []
        for label, service, path, headers in (
            ("GET /api/v1/directory/agencies", "registry", "/api/v1/directory/agencies", {}),
            ("GET /api/v1/contracts/{id} (auth)", "contracts", f"/api/v1/contracts/{contract_id}", s.agency.headers),
        ):
            m = await measure_pair(
                platform, service, path, headers, duration=duration, connections=connections, rounds=rounds
            )
            log(f"gateway overhead {label} on {backend.kind}: ratio {m['ratio']:.3f}")
            results.append(
                Result(
                    FIGURE,
                    label,
                    backend.kind,
                    round(m["ratio"], 3),
                    "",
                    f">= {TARGET}",
                    m["ratio"] >= TARGET and m["non2xx"] == 0,
                    {**m, "connections": connections, "duration": duration},
                )
            )
        return results
    finally:
        await platform.stop()
