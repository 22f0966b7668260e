"""``make bench`` — runs every figure of issue #9 (and #14's sign-up flood) side by side in one run, prints a table and writes
the results (with the command line and the machine) to ``var/bench/results-<time>.json``.

    python -m bench.run                       # every figure, both backends, full sizes
    python -m bench.run --quick               # small sizes, for a check in a few minutes
    python -m bench.run --only event_latency --backend sqlite
    python -m bench.run --only scale --agencies 1000 --enterprises 10000 --contracts 5000 --logs 100000
    python -m bench.run --only portal_load --backend sqlite      # 50 signed-in portal users (locust)
    python -m bench.run --only soak --backend sqlite --duration 3600   # an hour of mixed traffic (#20), only when named

Each figure module exposes ``NAME``, ``BACKENDS`` and ``async run(backend, opts) -> [Result]``.
A figure that fails is reported as an error and the run goes on with the next one.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench.common import VAR, Backend, Result, log, postgres_available

FIGURES = {
    "gateway_overhead": "bench.fig_gateway",
    "event_latency": "bench.event_latency",
    "shared_write": "bench.shared_write",
    "custody_flow": "bench.custody_flow",
    "scale": "bench.scale",
    "bulk_import": "bench.fig_import",
    "footprint": "bench.footprint",
    "signup_flood": "bench.signup_flood",
    "notify_latency": "bench.notify_latency",
    "portal_load": "bench.portal_load",
    "tracing_cost": "bench.tracing_cost",
    "search": "bench.search",
    "import_lag": "bench.fig_import_lag",
    "idle_cpu": "bench.fig_idle_cpu",
    "read_path": "bench.fig_read",
    "soak": "bench.soak",
}
# Run only when named (--only soak): an hour of the machine is not part of every `make bench`.
OPT_IN = {"soak"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small sizes and short durations")
    p.add_argument("--only", action="append", choices=sorted(FIGURES), help="run only this figure (repeatable)")
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--profile", action="store_true", help="record py-spy profiles of the server processes")
    p.add_argument("--writes", type=int, default=0, help="figure 2: sequential writes (default 1000, quick 300)")
    p.add_argument("--duration", type=float, default=0, help="seconds per throughput measurement (default 10, quick 4)")
    p.add_argument("--concurrency", type=int, default=0, help="concurrent clients for POST loads (default 16)")
    p.add_argument("--flows", type=int, default=0, help="figure 3: custody flows (default 300, quick 60)")
    p.add_argument("--agencies", type=int, default=None, help="figure 4 (default 10000)")
    p.add_argument("--enterprises", type=int, default=None, help="figure 4 (default 100000)")
    p.add_argument("--contracts", type=int, default=None, help="figure 4 (default 50000)")
    p.add_argument("--logs", type=int, default=None, help="figure 4 service logs (default 1000000)")
    p.add_argument("--queries", type=int, default=0, help="figure 4: requests per read path (default 300, quick 100)")
    p.add_argument("--import-rows", type=int, default=None, help="figure 5 CSV rows (default 100000)")
    p.add_argument("--events", type=int, default=0, help="notify latency: service logs (default 200, quick 50)")
    p.add_argument(
        "--portal-users", type=int, default=0, help="figure 7: concurrent signed-in portal users (default 50)"
    )
    p.add_argument("--soak-rate", type=float, default=0, help="soak: requests/s of the mixed load (default 6)")
    p.add_argument("--sample-seconds", type=float, default=0, help="soak: seconds between samples (default 30)")
    p.add_argument("--output", type=Path, default=None, help="result file (default var/bench/results-<time>.json)")
    return p.parse_args(argv)


def backends_for(module: object, choice: str) -> list[str]:
    wanted = ["sqlite", "postgres"] if choice == "both" else [choice]
    supported = getattr(module, "BACKENDS", ("sqlite", "postgres"))
    kinds = [k for k in wanted if k in supported]
    if "postgres" in kinds and not postgres_available():
        log("PostgreSQL not reachable on 127.0.0.1:5432: skipping the postgres backend")
        kinds.remove("postgres")
    return kinds


async def main(opts: argparse.Namespace) -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    errors: list[dict[str, str]] = []
    names = opts.only or [name for name in FIGURES if name not in OPT_IN]
    started = time.time()
    for name in names:
        try:
            module = importlib.import_module(FIGURES[name])
        except ImportError as exc:
            log(f"{name}: not available ({exc})")
            errors.append({"figure": name, "backend": "-", "error": f"not available: {exc}"})
            continue
        for kind in backends_for(module, opts.backend):
            log(f"--- {name} on {kind}")
            try:
                async with Backend(kind, VAR / "work") as backend:
                    results.extend(await module.run(backend, opts))
            except Exception as exc:
                traceback.print_exc()
                errors.append({"figure": name, "backend": kind, "error": f"{type(exc).__name__}: {exc}"})
    elapsed = time.time() - started
    print_table(results, errors)
    out = opts.output or VAR / f"results-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                "seconds": round(elapsed, 1),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "results": [r.as_dict() for r in results],
                "errors": errors,
            },
            indent=2,
            default=str,
        )
    )
    log(f"results written to {out}")
    return 1 if errors else 0


def print_table(results: list[Result], errors: list[dict[str, str]]) -> None:
    rows = [("figure", "measure", "backend", "value", "target", "met")]
    for r in results:
        met = "" if r.ok is None else ("yes" if r.ok else "NO")
        rows.append((r.figure, r.name, r.backend, f"{r.value:g} {r.unit}".strip(), r.target, met))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(str(cell).ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for e in errors:
        print(f"ERROR {e['figure']} [{e['backend']}]: {e['error']}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
