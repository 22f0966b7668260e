"""Portal pages under 50 concurrent signed-in people (issue #19): locust drives the real platform
(embedded default: SQLite, the embedded NATS, every service, the gateway and the portal as
processes) seeded with ``custody demo``'s Jiangmen data set. Each locust user signs in through the
OAuth login form as a seeded bureau, agency or enterprise account and then opens pages — its home
page or dashboard, lists, records linked from them — with a 1–3 s think time. Figure: p95 of the
page requests (sign-in excluded), target ≤ 300 ms; errors must be 0.

    python -m bench.run --only portal_load --backend sqlite [--portal-users 50 --duration 60]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from bench.common import ROOT, VAR, Backend, Result, cpu_seconds, log, percentile
from bench.platform import start_platform
from cli.demo import DEMO_PASSWORD, seed
from devtools.testing.platform import ADMIN_ID, ADMIN_SECRET

NAME = "portal_load"
FIGURE = "7 portal pages"
BACKENDS = ("sqlite",)
TARGET_MS = 300.0


async def run(backend: Backend, opts) -> list[Result]:
    users = getattr(opts, "portal_users", 0) or 50
    seconds = int(opts.duration or (30 if opts.quick else 90))
    platform = await start_platform(backend)
    try:
        log("seeding the demo data set through the public API")
        demo = await seed(platform.url, admin_id=ADMIN_ID, admin_secret=ADMIN_SECRET, small=bool(opts.quick))
        accounts = [[demo.bureau_username, "bureau"], *[[u, "bureau"] for u in demo.district_bureaus.values()]]
        accounts += [[f"agency-{a['uscc'].lower()}", "agency"] for a in demo.agencies]
        accounts += [[f"ent-{e['uscc'].lower()}", "enterprise"] for e in demo.enterprises]
        samples = VAR / f"portal-load-{backend.tag}.json"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locust_portal.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 10)),
            "-t",
            f"{seconds}s",
            "--host",
            platform.url,
            "--only-summary",
            "--stop-timeout",
            "5",
            "--loglevel",
            "WARNING",
        ]
        env = {
            **os.environ,
            "PORTAL_BENCH_ACCOUNTS": json.dumps(accounts),
            "PORTAL_BENCH_PASSWORD": DEMO_PASSWORD,
            "PORTAL_BENCH_SAMPLES": str(samples),
        }
        log(f"locust: {users} users for {seconds}s against {platform.url}")
        # CPU time of each process per request: unlike latency, it does not count waiting for a core
        # on a shared machine (docs/BENCHMARKS.md, method).
        pids = {c.name: c.process.pid for c in platform.supervisor.components if c.process}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        if not samples.exists():
            raise RuntimeError(f"locust wrote no samples (exit {done.returncode}): {done.stderr[-2000:]}")
        data = json.loads(samples.read_text())
        samples.unlink()
    finally:
        await platform.stop()
    # Measured once everybody is signed in: the ramp-up (50 logins) is not the steady state.
    signed_in = max((at for name, _, _, at in data if name.startswith("login")), default=0.0)
    steady = [(name, t, failed) for name, t, failed, at in data if at > signed_in]
    pages = [t for name, t, failed in steady if not name.startswith("login")]
    logins = [t for name, t, failed, _ in data if name.startswith("login")]
    failures = sum(failed for _, _, failed, _ in data)
    by_name: dict[str, list[float]] = {}
    for name, t, _ in steady:
        by_name.setdefault(name, []).append(t)
    seconds = max(1.0, max((at for *_, at in data), default=signed_in) - signed_in)
    detail = {
        "users": users,
        "steady_seconds": round(seconds, 1),
        "think_time_s": "1–3",
        "requests": len(data),
        "pages": len(pages),
        "failures": failures,
        "pages_per_s": round(len(pages) / seconds, 1),
        "load_average_1m": os.getloadavg()[0],
        "p50_ms": round(percentile(pages, 50), 1),
        "p99_ms": round(percentile(pages, 99), 1),
        "login_p95_ms": round(percentile(logins, 95), 1) if logins else None,
        "per_page_p95_ms": {k: round(percentile(v, 95), 1) for k, v in sorted(by_name.items())},
        "cpu_ms_per_request": {name: round(used * 1000 / max(1, len(data)), 2) for name, used in cpu_used.items()},
        "command": "python -m bench.run --only portal_load --backend sqlite",
    }
    p95 = percentile(pages, 95) if pages else float("inf")
    log(f"portal pages: p95 {p95:.0f} ms over {len(pages)} pages, {failures} failures")
    return [
        Result(
            FIGURE,
            "page p95 (50 signed-in users)",
            backend.kind,
            round(p95, 1),
            "ms",
            f"<= {TARGET_MS:g} ms",
            ok=p95 <= TARGET_MS and failures == 0,
            detail=detail,
        )
    ]
