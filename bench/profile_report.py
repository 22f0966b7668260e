"""Print what a collapsed-stack profile (py-spy ``--format raw``) spends its time in:
``python -m bench.profile_report var/bench/profiles/<name>.txt [--top 40]``.

Two views: inclusive share by function (frames in the project's own code and the libraries on the
hot path) and self share by leaf frame (where the CPU actually is)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [f for f in stack.split(";") if f]
        stacks.append((frames, int(count)))
    return stacks


def busy(stacks: list[tuple[list[str], int]]) -> list[tuple[list[str], int]]:
    """Drop samples of threads parked waiting for work (aiosqlite's queue, the event loop's select)."""
    idle = (
        "_connection_worker_thread (aiosqlite/core.py:59)",
        "select (selectors.py",
        "Condition.wait",
        "Queue.get",
        "Runner.run (asyncio/runners.py:118)",
    )  # uvloop's poll is native: the loop waiting shows as Runner.run
    return [(f, n) for f, n in stacks if not any(i in f[-1] for i in idle)]


def report(path: Path, top: int = 40) -> str:
    stacks = busy(load(path))
    total = sum(n for _, n in stacks) or 1
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for frames, n in stacks:
        for frame in set(frames):
            inclusive[frame] += n
        leaf[frames[-1]] += n
    lines = [f"{path.name}: {total} busy samples", "", "inclusive (shared/, sqlalchemy, pydantic, nats, …):"]
    keep = (
        "shared/",
        "bench/",
        "services/",
        "gateway/",
        "sqlalchemy/",
        "pydantic",
        "nats/",
        "fastapi/",
        "starlette/",
        "aiosqlite/",
        "asyncpg/",
        "structlog/",
        "prometheus",
        "orjson",
        "joserfc",
        "httpx",
        "aiohttp",
        "uvicorn/",
    )
    shown = 0
    for frame, n in inclusive.most_common():
        if any(k in frame for k in keep):
            lines.append(f"  {n / total:6.1%}  {frame}")
            shown += 1
            if shown >= top:
                break
    lines += ["", "self (leaf frames):"]
    for frame, n in leaf.most_common(top // 2):
        lines.append(f"  {n / total:6.1%}  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=40)
    a = p.parse_args()
    print(report(a.profile, a.top))
