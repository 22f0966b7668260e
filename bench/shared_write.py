"""A supporting figure for 3: one write through our shared stack (every middleware, a transaction
with the outbox row, the relay publishing to JetStream) ÷ the bare FastAPI + SQLModel insert, same
database kind, same load, same run. It isolates what ``shared/`` costs per write — the part of the
custody flow that the profiles point at."""

from __future__ import annotations

from typing import Any

from bench.bare_insert import bare_insert_rps, producer_write_rps
from bench.common import Backend, Result

NAME = "shared_write"
FIGURE = "3a shared write"
BACKENDS = ("sqlite", "postgres")


async def run(backend: Backend, opts: Any) -> list[Result]:
    duration = opts.duration or (4 if opts.quick else 10)
    concurrency = opts.concurrency or 16
    bare = await bare_insert_rps(backend, duration=duration, concurrency=concurrency)
    ours = await producer_write_rps(backend, duration=duration, concurrency=concurrency, profile=opts.profile)
    bare2 = await bare_insert_rps(backend, duration=duration, concurrency=concurrency)
    reference = (bare["rate"] + bare2["rate"]) / 2
    ratio = ours["rate"] / reference if reference else 0.0
    return [
        Result(FIGURE, "bare insert", backend.kind, bare["rate"], "req/s", "", None, {"runs": [bare, bare2]}),
        Result(FIGURE, "shared write", backend.kind, ours["rate"], "req/s", "", None, ours),
        Result(
            FIGURE,
            "shared write ÷ bare",
            backend.kind,
            round(ratio, 3),
            "",
            "(informative)",
            None,
            {"concurrency": concurrency, "duration": duration},
        ),
    ]
