"""Sampling profiles of a running benchmark process with py-spy (``pip install py-spy``): a
speedscope JSON and a top-of-stack summary for each profiled figure, under var/bench/profiles/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def py_spy() -> str | None:
    candidate = Path(sys.prefix) / "bin" / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    process: subprocess.Popen | None
    output: Path

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(2)  # SIGINT: py-spy writes the file and exits
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def record(pid: int, base: Path, *, fmt: str = "raw", rate: int = 200) -> Recording:
    """Start ``py-spy record`` on ``pid``; ``fmt=raw`` writes collapsed stacks (flamegraph input)."""
    exe = py_spy()
    base.parent.mkdir(parents=True, exist_ok=True)
    output = base.with_suffix(".txt" if fmt == "raw" else ".json")
    if exe is None:
        print("py-spy not installed: `.venv/bin/pip install py-spy` to profile", file=sys.stderr)
        return Recording(None, output)
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--format",
        fmt,
        "--rate",
        str(rate),
        "--output",
        str(output),
        "--nonblocking",
    ]
    return Recording(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), output)


def summarize(collapsed: Path, *, top: int = 25, own_prefixes: tuple[str, ...] = ()) -> list[tuple[str, float]]:
    """Inclusive share of samples per function from a collapsed-stack file, largest first."""
    totals: dict[str, int] = {}
    all_samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        all_samples += n
        seen = set()
        for frame in stack.split(";"):
            if frame in seen:
                continue
            seen.add(frame)
            totals[frame] = totals.get(frame, 0) + n
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    if own_prefixes:
        ranked = [kv for kv in ranked if any(p in kv[0] for p in own_prefixes)]
    return [(frame, n / all_samples) for frame, n in ranked[:top]] if all_samples else []
