"""Render a result file of ``bench.run`` as the Markdown table of docs/BENCHMARKS.md:
``python -m bench.report var/bench/results-<time>.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render(path: Path) -> str:
    data = json.loads(path.read_text())
    lines = [
        f"Command: `{data['command']}` — started {data['started']}, {data['seconds']:.0f} s, "
        f"{data['machine']['cpus']} CPUs, Python {data['machine']['python']}.",
        "",
        "| figure | measure | backend | value | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        met = "" if r["ok"] is None else ("yes" if r["ok"] else "**no**")
        value = f"{r['value']:g} {r['unit']}".strip()
        lines.append(f"| {r['figure']} | {r['name']} | {r['backend']} | {value} | {r['target']} | {met} |")
    for e in data.get("errors", []):
        lines.append(f"| {e['figure']} | ERROR | {e['backend']} | {e['error'][:120]} | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(Path(sys.argv[1])))
