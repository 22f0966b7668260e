"""Figure 5 — bulk import: 100,000 enterprises from CSV, seconds and the service's peak memory.

Runs ``bench/import_enterprises.py`` (the enterprises engineer's script: generates the CSV, starts
the enterprises service as a uvicorn process with its own NATS, streams the file to
``POST /api/v1/enterprises/import``, reads ``VmHWM`` of the service) as a subprocess and records
its JSON line. ``--import-rows`` changes the size (quick: 10,000).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from bench.common import PG_BASE, ROOT, Backend, Result, log

NAME = "bulk_import"
FIGURE = "5 bulk import"
BACKENDS = ("sqlite", "postgres")
TARGET_SECONDS = 60.0
TARGET_MIB = 300.0


async def run(backend: Backend, opts: Any) -> list[Result]:
    rows = opts.import_rows or (10_000 if opts.quick else 100_000)
    cmd = [sys.executable, "-m", "bench.import_enterprises", "--rows", str(rows)]
    if backend.kind == "postgres":
        cmd += ["--database-url", PG_BASE]
    log(f"bulk import on {backend.kind}: {' '.join(cmd[1:])}")
    proc = await asyncio.to_thread(subprocess.run, cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"import benchmark failed ({proc.returncode}): {proc.stderr[-1500:]}")
    m = json.loads(lines[-1])
    m["log"] = [line for line in proc.stdout.splitlines() if not line.startswith("{")]
    scale = 100_000 / rows
    seconds, peak = m["import_seconds"], m["peak_rss_mib"]
    detail = {**m, "command": "python -m " + " ".join(cmd[2:])}
    return [
        Result(
            FIGURE,
            f"seconds for {rows:,} rows",
            backend.kind,
            seconds,
            "s",
            f"<= {TARGET_SECONDS * rows / 100_000:g} s" + ("" if rows == 100_000 else " (pro rata)"),
            seconds <= TARGET_SECONDS / scale,
            detail,
        ),
        Result(
            FIGURE,
            "peak RSS of the service",
            backend.kind,
            peak,
            "MiB",
            f"<= {TARGET_MIB:g} MiB",
            peak <= TARGET_MIB,
            {"rss_before_mib": m.get("rss_before_mib")},
        ),
    ]
