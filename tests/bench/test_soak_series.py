"""The soak's summary (bench/soak_series.py) on made-up series: a flat curve after warm-up levels
off, a steady climb does not, the counts are first vs last, the metrics text is read, and the
picture and the CSV hold every process."""

from __future__ import annotations

import csv
import os

from bench.soak_series import (
    Sample,
    at,
    parse_metrics,
    probe,
    read_csv,
    slope_mib_per_hour,
    summarise,
    svg,
    write_csv,
)


def series(name: str, rss, step: float = 30.0, fds=lambda i: 20) -> list[Sample]:
    return [Sample(i * step, name, 1, rss(i), fds(i), 8, 3, i * 100, 0) for i in range(121)]  # 60 min


def test_a_curve_flat_after_warm_up_levels_off():
    warm = series("gateway", lambda i: 80.0 + min(i, 20) * 1.0)  # +20 MiB in the first 10 min, then flat
    (row,) = summarise(warm)
    assert row["rss_10m"] == 100.0 and row["rss_30m"] == 100.0 and row["rss_60m"] == 100.0
    assert row["slope_mib_h"] == 0.0
    assert row["levelled"] is True


def test_a_steady_climb_does_not_level_off_and_its_rate_is_per_hour():
    leak = series("audit", lambda i: 100.0 + i * 0.25)  # 0.25 MiB per 30 s = 30 MiB/h
    (row,) = summarise(leak)
    assert round(row["slope_mib_h"], 1) == 30.0
    assert row["levelled"] is False


def test_counts_are_first_versus_last_per_process():
    rows = summarise(series("portal", lambda i: 90.0, fds=lambda i: 20 + i // 60) + series("notify", lambda i: 70.0))
    by = {r["process"]: r for r in rows}
    assert by["portal"]["fds"] == (20, 22)
    assert by["notify"]["tcp"] == (3, 3)


def test_a_short_run_has_no_sixty_minute_figure_and_slopes_its_last_half():
    short = [Sample(t, "registry", 1, 50.0 + (t >= 60) * 10, 10, 4, 2, 0, 0) for t in range(0, 130, 10)]
    assert at(short, 3600) is None
    assert slope_mib_per_hour(short) == 0.0  # the step is before the last half


def test_the_service_metrics_are_read():
    text = (
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "process_resident_memory_bytes 1.048576e+08\n"
        "process_open_fds 31.0\n"
        'asyncio_tasks{service="audit"} 12.0\n'
        "http_requests_total 5.0\n"
    )
    assert parse_metrics(text) == {
        "process_resident_memory_bytes": 104857600.0,
        "process_open_fds": 31.0,
        "tasks": 12.0,
    }


def test_probe_reads_a_live_process_and_none_for_a_gone_one():
    rss, fds, threads, _tcp = probe(os.getpid())
    assert rss > 1 and fds > 0 and threads >= 1
    assert probe(2**22 + 12345) is None


def test_the_csv_and_the_picture_hold_every_process(tmp_path):
    samples = series("gateway", lambda i: 80.0) + series("nats-server", lambda i: 30.0)
    write_csv(samples, tmp_path / "s.csv")
    with (tmp_path / "s.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(samples) and rows[0]["process"] == "gateway"
    assert read_csv(tmp_path / "s.csv") == samples  # a finished soak can be drawn again from its CSV
    picture = svg(samples, "soak")
    assert picture.startswith("<svg") and picture.count("<polyline") == 6  # three panels × two processes
    assert "nats-server" in picture
