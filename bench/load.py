"""Load generators: wrk (Debian package) for GET throughput, and an aiohttp client with N concurrent
workers for POSTs and multi-step flows. Both run on the same 2-core machine as the servers, so a
figure is always a ratio of two loads generated the same way in the same run."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import percentile


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str, *, duration: float, connections: int = 32, threads: int = 1, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """``wrk -t1 -cN -dS`` against one URL; requests/s and non-2xx count."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(duration))}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = None
    if p99:
        p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return {
        "rps": rps,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
        "p99_ms": p99_ms,
        "command": " ".join(cmd),
    }


async def aiohttp_get_rps(
    url: str, *, duration: float, concurrency: int = 32, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Fallback when wrk is missing."""

    async def one(http: aiohttp.ClientSession, i: int) -> None:
        async with http.get(url, headers=headers) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {url}: {r.status}")

    return await closed_loop(one, duration=duration, concurrency=concurrency)


@dataclass
class LoadResult:
    ops: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        lat = [x * 1000 for x in self.latencies] or [0.0]
        return {
            "ops": self.ops,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "rate": round(self.rate, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "first_error": self.first_error,
        }


async def closed_loop(
    op: Callable[[aiohttp.ClientSession, int], Awaitable[None]],
    *,
    duration: float | None = None,
    total: int | None = None,
    concurrency: int = 16,
    warmup: float = 1.0,
) -> dict[str, Any]:
    """``concurrency`` workers each run ``op`` back to back (closed loop) for ``duration`` seconds
    (after ``warmup`` seconds not counted) or until ``total`` ops are done."""
    result = LoadResult()
    counter = iter(range(10**9))
    connector = aiohttp.TCPConnector(limit=concurrency * 2, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        measuring = warmup <= 0
        stop_at = None

        async def worker() -> None:
            while True:
                if stop_at is not None and time.monotonic() >= stop_at:
                    return
                i = next(counter)
                if total is not None and i >= total:
                    return
                started = time.monotonic()
                try:
                    await op(http, i)
                except Exception as exc:
                    if measuring:
                        result.errors += 1
                        result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if measuring:
                    result.ops += 1
                    result.latencies.append(time.monotonic() - started)

        if warmup > 0 and total is None:
            stop_at = time.monotonic() + warmup
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            measuring = True
        began = time.monotonic()
        stop_at = began + duration if duration is not None else None
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.monotonic() - began
    return result.summary()


def post_json(
    path_or_url: str, body: Callable[[int], Any], *, headers: dict[str, str] | None = None, expect: int = 201
) -> Callable[[aiohttp.ClientSession, int], Awaitable[None]]:
    async def op(http: aiohttp.ClientSession, i: int) -> None:
        async with http.post(path_or_url, json=body(i), headers=headers) as r:
            payload = await r.read()
            if r.status != expect:
                raise RuntimeError(f"POST {path_or_url}: {r.status} {payload[:200]!r}")

    return op
