"""The soak's samples and what is read from them (``bench/soak.py``): one row per process every
interval — resident memory, open files, threads, TCP connections (from ``/proc`` through psutil),
and the service's own gauges from its ``/metrics`` when it has them — written as CSV; the summary
per process (RSS at 10, 30 and 60 minutes, the slope over the last 30 minutes, first vs last of the
counts); and the curves as a plain SVG drawing."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import psutil

MIB = 1024 * 1024
# prometheus_client's process collector, and the service's count of its asyncio tasks if it ever
# publishes one (none does today: the column stays empty). Domain gauges ("audit tasks") are not it.
GAUGE = re.compile(r"^(process_resident_memory_bytes|process_open_fds|[a-z_]*asyncio_tasks)(?:\{[^}]*\})? (\S+)$")


@dataclass
class Sample:
    t_s: float  # seconds since the load started
    process: str
    pid: int
    rss_mib: float
    fds: int
    threads: int
    tcp: int
    requests: int  # requests done so far (the whole platform)
    errors: int  # 5xx and transport errors so far
    metrics_rss_mib: float | None = None  # what the process says about itself (/metrics)
    metrics_fds: int | None = None
    metrics_tasks: float | None = None


def probe(pid: int) -> tuple[float, int, int, int] | None:
    """RSS (MiB), open files, threads, TCP connections of one process, or None if it is gone."""
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            return (
                p.memory_info().rss / MIB,
                p.num_fds(),
                p.num_threads(),
                len(p.net_connections(kind="tcp")),
            )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def parse_metrics(text: str) -> dict[str, float]:
    """The gauges we read from a Prometheus exposition: RSS, open fds, and a sum of any task gauges."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = GAUGE.match(line)
        if not m:
            continue
        name, value = m.group(1), float(m.group(2))
        if name.startswith("process_"):
            out[name] = value
        elif not name.endswith(("_total", "_created", "_bucket", "_sum", "_count")):
            out["tasks"] = out.get("tasks", 0.0) + value
    return out


async def self_view(http: httpx.AsyncClient, url: str | None) -> dict[str, float]:
    if not url:
        return {}
    try:
        r = await http.get(url + "/metrics", timeout=5.0)
    except httpx.HTTPError:
        return {}
    return parse_metrics(r.text) if r.status_code == 200 else {}


def sample_row(t_s: float, name: str, pid: int, counts: tuple[int, int], own: dict[str, float]) -> Sample | None:
    seen = probe(pid)
    if seen is None:
        return None
    rss, fds, threads, tcp = seen
    metrics_rss = own.get("process_resident_memory_bytes")
    metrics_fds = own.get("process_open_fds")
    return Sample(
        round(t_s, 1),
        name,
        pid,
        round(rss, 2),
        fds,
        threads,
        tcp,
        counts[0],
        counts[1],
        round(metrics_rss / MIB, 2) if metrics_rss is not None else None,
        int(metrics_fds) if metrics_fds is not None else None,
        own.get("tasks"),
    )


def write_csv(samples: Iterable[Sample], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Sample)])
        writer.writeheader()
        for s in samples:
            writer.writerow(asdict(s))


def by_process(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.process, []).append(s)
    return out


def at(series: list[Sample], t_s: float) -> float | None:
    """RSS of the last sample taken at or before ``t_s`` (None if the run was shorter)."""
    if not series or series[-1].t_s < t_s - 60:
        return None
    before = [s for s in series if s.t_s <= t_s]
    return before[-1].rss_mib if before else None


def slope_mib_per_hour(series: list[Sample], window_s: float = 1800.0) -> float:
    """Least-squares slope of RSS over the last ``window_s`` seconds (or the last half of a
    shorter run), in MiB per hour."""
    if len(series) < 2:
        return 0.0
    end = series[-1].t_s
    start = end - min(window_s, (end - series[0].t_s) / 2)
    points = [(s.t_s, s.rss_mib) for s in series if s.t_s >= start]
    if len(points) < 2:
        points = [(s.t_s, s.rss_mib) for s in series[-2:]]
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / var * 3600


def levelled(series: list[Sample], slope: float) -> bool:
    """Levelled off: the last 30 minutes grow by less than 2 MiB/h or 2 % of the RSS per hour."""
    return slope <= max(2.0, 0.02 * series[-1].rss_mib)


def summarise(samples: list[Sample]) -> list[dict[str, Any]]:
    rows = []
    for name, series in by_process(samples).items():
        first, last = series[0], series[-1]
        slope = slope_mib_per_hour(series)
        rows.append(
            {
                "process": name,
                "rss_start": first.rss_mib,
                "rss_10m": at(series, 600),
                "rss_30m": at(series, 1800),
                "rss_60m": at(series, 3600),
                "rss_end": last.rss_mib,
                "rss_max": max(s.rss_mib for s in series),
                "slope_mib_h": round(slope, 2),
                "levelled": levelled(series, slope),
                "fds": (first.fds, last.fds),
                "threads": (first.threads, last.threads),
                "tcp": (first.tcp, last.tcp),
                "tasks": (first.metrics_tasks, last.metrics_tasks),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    def mib(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    head = (
        "| process | RSS start | 10 min | 30 min | 60 min | max | slope last 30 min | levelled | fds | threads | TCP |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['process']} | {mib(r['rss_start'])} | {mib(r['rss_10m'])} | {mib(r['rss_30m'])} | "
            f"{mib(r['rss_60m'])} | {mib(r['rss_max'])} | {r['slope_mib_h']:+.1f} MiB/h | "
            f"{'yes' if r['levelled'] else '**no**'} | {r['fds'][0]} → {r['fds'][1]} | "
            f"{r['threads'][0]} → {r['threads'][1]} | {r['tcp'][0]} → {r['tcp'][1]} |"
        )
    return "\n".join(lines)


# --- the picture --------------------------------------------------------------------------------
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def _panel(
    series: dict[str, list[tuple[float, float]]],
    *,
    x0: int,
    y0: int,
    w: int,
    h: int,
    title: str,
    unit: str,
    from_zero: bool = True,
) -> list[str]:
    xs = [x for pts in series.values() for x, _ in pts] or [0.0, 1.0]
    ys = [y for pts in series.values() for _, y in pts] or [0.0, 1.0]
    x_max = max(max(xs), 1.0)
    y_lo = 0.0 if from_zero else min(min(ys), 0.0)
    y_hi = max(ys) * 1.1 if from_zero else max(max(ys), 0.0) + 0.1 * (max(ys) - y_lo)
    span = (y_hi - y_lo) or 1.0
    decimals = 0 if span >= 20 else 1

    def px(x: float, y: float) -> str:
        return f"{x0 + w * x / x_max:.1f},{y0 + h - h * (y - y_lo) / span:.1f}"

    out = [
        f'<text x="{x0}" y="{y0 - 8}" font-size="13" font-weight="bold">{title}</text>',
        f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
    ]
    for k in range(5):  # horizontal grid and the y axis labels
        y = y0 + h - h * k / 4
        label = f"{y_lo + span * k / 4:.{decimals}f}"
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    minutes = x_max / 60
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60) if minutes / s <= 8), 120)
    m = 0
    while m <= minutes:
        x = x0 + w * (m * 60) / x_max
        out.append(f'<text x="{x:.1f}" y="{y0 + h + 14}" font-size="10" text-anchor="middle">{m}</text>')
        m += step
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 28}" font-size="11" text-anchor="middle">minutes</text>')
    out.append(
        f'<text x="{x0 - 44}" y="{y0 + h / 2}" font-size="11" transform="rotate(-90 {x0 - 44} {y0 + h / 2})"'
        f' text-anchor="middle">{unit}</text>'
    )
    for i, pts in enumerate(series.values()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(px(x, y) for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    return out


def svg(samples: list[Sample], title: str) -> str:
    """Three panels against minutes of load: RSS per process; its change since the first sample
    (where a slow growth shows); open files per process."""
    groups = by_process(samples)
    width, left, panel_w, panel_h, gap = 900, 70, 620, 200, 70
    rss = {n: [(s.t_s, s.rss_mib) for s in ss] for n, ss in groups.items()}
    grown = {n: [(s.t_s, s.rss_mib - ss[0].rss_mib) for s in ss] for n, ss in groups.items()}
    fds = {n: [(s.t_s, float(s.fds)) for s in ss] for n, ss in groups.items()}
    top = [50 + k * (panel_h + gap) for k in range(3)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top[2] + panel_h + 50}" '
        f'font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14">{title}</text>',
        *_panel(rss, x0=left, y0=top[0], w=panel_w, h=panel_h, title="RSS per process", unit="MiB"),
        *_panel(
            grown,
            x0=left,
            y0=top[1],
            w=panel_w,
            h=panel_h,
            title="RSS change since the first sample",
            unit="MiB",
            from_zero=False,
        ),
        *_panel(fds, x0=left, y0=top[2], w=panel_w, h=panel_h, title="open files per process", unit="fds"),
    ]
    for i, name in enumerate(groups):  # the legend
        y = 60 + 18 * i
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<line x1="{left + panel_w + 20}" y1="{y}" x2="{left + panel_w + 40}" y2="{y}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{left + panel_w + 46}" y="{y + 4}" font-size="12">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def read_csv(path: Path) -> list[Sample]:
    def value(kind: type, raw: str) -> Any:
        return None if raw == "" else kind(float(raw)) if kind is int else kind(raw)

    types = {
        "t_s": float,
        "process": str,
        "pid": int,
        "rss_mib": float,
        "fds": int,
        "threads": int,
        "tcp": int,
        "requests": int,
        "errors": int,
        "metrics_rss_mib": float,
        "metrics_fds": int,
        "metrics_tasks": float,
    }
    with path.open(encoding="utf-8") as f:
        return [Sample(**{k: value(types[k], v) for k, v in row.items()}) for row in csv.DictReader(f)]


if __name__ == "__main__":  # re-read a soak's CSV: python -m bench.soak_series SAMPLES.csv [PICTURE.svg] [TITLE]
    import sys

    loaded = read_csv(Path(sys.argv[1]))
    print(table(summarise(loaded)))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(svg(loaded, sys.argv[3] if len(sys.argv) > 3 else "soak"), encoding="utf-8")
