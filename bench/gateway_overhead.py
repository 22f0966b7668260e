"""Gateway overhead: requests per second through the gateway vs straight to a service, for the
same GET, on real uvicorn processes (one process each, as deployed), and their ratio.

    .venv/bin/python -m bench.gateway_overhead                     # wrk if installed, else aiohttp
    .venv/bin/python -m bench.gateway_overhead --tool aiohttp --duration 10 --connections 64
    .venv/bin/python -m bench.gateway_overhead --path "/api/v1/admin/dlq?service=registry" --auth

Direct and proxied runs alternate (``--rounds``) and the median of each is reported, because the
machine is shared. The CPU time each process spends per request is reported too (from /proc), and
from it the ratio the proxied path would reach with a core per process — on a 2-core machine
shared by the load generator, the gateway, the service and other work, req/s alone mostly
measures contention. The proxy's per-client rate limit is switched off for the run. Target: ≥ 0.7.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import httpx

from devtools.natsserver import NatsServer, free_port
from devtools.supervisor import Component, settings_env
from shared.settings import Settings

ADMIN_ID, ADMIN_SECRET = "bench-admin", "bench-admin-secret-0123456789"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.gateway_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--path", default="/api/v1/policy", help="the GET to measure (served by the registry)")
    p.add_argument("--auth", action="store_true", help="send an admin bearer token")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="alternating direct/gateway rounds (median reported)")
    p.add_argument("--tool", choices=("auto", "wrk", "aiohttp"), default="auto")
    return p.parse_args(argv)


async def load_aiohttp(url: str, *, duration: float, connections: int, headers: dict[str, str]) -> float:
    """An async load generator: ``connections`` workers on one keep-alive pool for ``duration``."""
    done = 0
    errors = 0
    stop_at = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop_at:
                async with session.get(url) as response:
                    await response.read()
                    if response.status == 200:
                        done += 1
                    else:
                        errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if errors:
        print(f"  warning: {errors} non-200 responses from {url}", file=sys.stderr)
    return done / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc; Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_wrk(url: str, *, duration: float, connections: int, headers: dict[str, str]) -> float:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, int(duration))}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        print(f"  warning: non-2xx responses from {url}:\n{out}", file=sys.stderr)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


async def measure(args: argparse.Namespace) -> dict:
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")
    workdir = Path(tempfile.mkdtemp(prefix="custody-gw-bench-"))
    nats = NatsServer(port=free_port(), store_dir=workdir / "nats", name="bench-gw")
    nats.start()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        _env_file=None,
        env="test",
        data_dir=workdir / "var",
        nats_url=nats.url,
        stream_name=f"BENCHGW{tag.upper()}",
        subject_prefix=f"benchgw{tag}",
        log_level="WARNING",
        sweep_interval_seconds=0,
        admin_client_id=ADMIN_ID,
        admin_client_secret=ADMIN_SECRET,
        proxy_rate_per_second=0,
        proxy_rate_burst=0,
        **{f"{n}_port": free_port() for n in ("gateway", "registry", "enterprises", "contracts", "audit")},
    )
    env = settings_env(settings)
    components = [
        Component(name, settings.port_of(name), env, workdir / f"{name}.log") for name in ("registry", "gateway")
    ]
    try:
        for component in components:
            component.start()
        async with httpx.AsyncClient(timeout=2) as client:
            for component in components:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if (await client.get(f"{component.url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or not component.running:
                        raise RuntimeError(f"{component.name} did not start; see {component.log_file}")
                    await asyncio.sleep(0.2)
            headers: dict[str, str] = {}
            if args.auth:
                r = await client.post(
                    f"{settings.url_of('gateway')}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(ADMIN_ID, ADMIN_SECRET),
                )
                headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            direct_url = settings.url_of("registry") + args.path
            gateway_url = settings.url_of("gateway") + args.path
            for url in (direct_url, gateway_url):
                check = await client.get(url, headers=headers)
                if check.status_code != 200:
                    raise RuntimeError(f"GET {url} -> {check.status_code}: {check.text[:300]}")

        pids = {c.name: c.process.pid for c in components}
        print(
            "  processes: " + ", ".join(f"{name} pid {pid}" for name, pid in pids.items()), file=sys.stderr, flush=True
        )
        cpu_per_request: dict[str, list[float]] = {"direct:registry": [], "gateway:registry": [], "gateway:gateway": []}

        async def run(url: str, label: str | None = None) -> float:
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            started = time.perf_counter()
            if tool == "wrk":
                rps = await asyncio.to_thread(
                    load_wrk, url, duration=args.duration, connections=args.connections, headers=headers
                )
            else:
                rps = await load_aiohttp(url, duration=args.duration, connections=args.connections, headers=headers)
            requests = rps * (time.perf_counter() - started)
            if label:
                for name, pid in pids.items():
                    key = f"{label}:{name}"
                    if key in cpu_per_request and requests:
                        cpu_per_request[key].append((cpu_seconds(pid) - before[name]) / requests * 1e6)
            return rps

        await run(direct_url)  # warm-up (imports, caches, pools) — not counted
        await run(gateway_url)
        direct, through = [], []
        for _ in range(args.rounds):
            direct.append(await run(direct_url, "direct"))
            through.append(await run(gateway_url, "gateway"))
            print(f"  direct {direct[-1]:8.0f} req/s   gateway {through[-1]:8.0f} req/s", file=sys.stderr)
        d, g = statistics.median(direct), statistics.median(through)
        cpu = {k: statistics.median(v) for k, v in cpu_per_request.items() if v}
        # What the ratio would be with a core per process (the deployed shape): each process can do
        # 1 / (its CPU per request) requests per second; the slower hop bounds the proxied path.
        modelled = None
        if len(cpu) == 3:
            modelled = min(1 / cpu["gateway:gateway"], 1 / cpu["gateway:registry"]) / (1 / cpu["direct:registry"])
        return {
            "figure": "gateway overhead",
            "tool": tool,
            "path": args.path,
            "auth": args.auth,
            "connections": args.connections,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "direct_rps": round(d, 1),
            "gateway_rps": round(g, 1),
            "ratio": round(g / d, 3),
            # CPU time per request of each process: steadier than req/s on a shared machine
            "cpu_us_per_request": {k: round(v, 1) for k, v in cpu.items()},
            "ratio_with_a_core_per_process": round(modelled, 3) if modelled else None,
            "target": ">= 0.7",
            "ok": g / d >= 0.7,
        }
    finally:
        for component in reversed(components):
            component.stop()
        nats.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    result = asyncio.run(measure(parse_args(argv)))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
