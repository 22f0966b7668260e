"""Benchmark: bulk import of N enterprise rows (default 100,000) through the real service.

    .venv/bin/python -m bench.import_enterprises [--rows 100000] [--database-url postgresql://...] [--gbk | --xlsx]

Generates a CSV file of N valid rows (streamed to disk), starts the enterprises service as a
uvicorn subprocess (SQLite under a temp dir by default, or PostgreSQL with ``--database-url``) with
an embedded NATS, streams the file to ``POST /api/v1/enterprises/import`` (chunked upload), and
reports the import time, the service process's peak RSS (``VmHWM``), the time until the outbox
relay has published every event, and the time of a second, idempotent import of the same file.
Targets: ≤ 60 s and ≤ 300 MiB for 100,000 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.natsserver import NatsServer, free_port, wait_for_port  # noqa: E402
from devtools.testing.tokens import TEST_AUDIENCE, TEST_ISSUER, jwks, make_token  # noqa: E402
from shared.reference import load_jurisdiction, make_uscc  # noqa: E402

COLUMNS = [
    "uscc",
    "name",
    "industry",
    "district_code",
    "town",
    "village",
    "address",
    "employees",
    "major_hazard_source",
    "hazard_flags",
    "contact_name",
    "contact_phone",
]
INDUSTRIES = [
    "machinery",
    "light_industry",
    "textiles",
    "commerce_trade",
    "metallurgy",
    "building_materials",
    "hazardous_chemicals",
    "construction",
    "other",
]
FLAGS = [
    "",
    "dust_explosion",
    "confined_space|special_equipment",
    "",
    "metal_melting|confined_space|hazardous_chemicals_use",
]


def generate(path: Path, rows: int, *, encoding: str = "utf-8") -> int:
    jur = load_jurisdiction()
    towns = [(a.parent, a.code, a.name) for a in jur.areas.values() if a.level == "town"]
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            district, town_code, town_name = towns[i % len(towns)]
            writer.writerow(
                [
                    make_uscc(f"91440700BM{i:07d}"),
                    f"江门市示例企业{i}号有限公司",
                    INDUSTRIES[i % len(INDUSTRIES)],
                    district,
                    town_name if i % 2 else town_code,
                    "",
                    f"{town_name}工业路{i % 500}号",
                    i % 180,
                    "是" if i % 97 == 0 else "否",
                    FLAGS[i % len(FLAGS)],
                    "陈经理",
                    f"138{i:08d}",
                ]
            )
    return path.stat().st_size


def to_xlsx(csv_path: Path, xlsx_path: Path) -> int:
    """The same rows as a workbook (openpyxl write-only), with a title row above the header."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("企业名录")
    sheet.append(["江门市企业名录（基准测试）"])
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            sheet.append(row if i == 0 else [*row[:7], int(row[7]), *row[8:]])
    workbook.save(xlsx_path)
    return xlsx_path.stat().st_size


class _Jwks(BaseHTTPRequestHandler):
    body = json.dumps(jwks()).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (the machine is shared: wall time alone misleads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def pg_backends(base_url: str, database: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(f"{base_url.rstrip('/')}/postgres")
    try:
        return [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
    finally:
        await conn.close()


def pg_cpu(base_url: str | None, database: str) -> dict[int, float]:
    """CPU seconds of the service's PostgreSQL backends (the pool's connections live on)."""
    if not base_url:
        return {}
    return {pid: cpu_seconds(pid) for pid in asyncio.run(pg_backends(base_url, database))}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def stream_count(nats_url: str, stream: str) -> int:
    import nats

    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.state.messages
    except Exception:
        return 0
    finally:
        await nc.close()


def upload(base: str, path: Path, token: str, content_type: str) -> tuple[float, dict]:
    def chunks():
        with path.open("rb") as fh:
            while chunk := fh.read(64 * 1024):
                yield chunk

    started = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        r = client.post(
            f"{base}/api/v1/enterprises/import",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed, r.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (default: SQLite in a temp dir)")
    parser.add_argument("--gbk", action="store_true", help="write the file in GBK instead of UTF-8")
    parser.add_argument("--xlsx", action="store_true", help="send the rows as an XLSX workbook")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the service to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmpdir = Path(tmp)
        csv_path = tmpdir / "enterprises.csv"
        t0 = time.perf_counter()
        size = generate(csv_path, args.rows, encoding="gbk" if args.gbk else "utf-8")
        if args.xlsx:
            size = to_xlsx(csv_path, tmpdir / "enterprises.xlsx")
            csv_path = tmpdir / "enterprises.xlsx"
        print(f"generated {args.rows} rows, {size / 2**20:.1f} MiB in {time.perf_counter() - t0:.1f} s")

        nats = NatsServer(port=free_port(), store_dir=tmpdir / "nats", name="bench-import")
        nats.start()
        jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
        threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
        tag = uuid.uuid4().hex[:8]
        port = free_port()
        env = {
            **os.environ,
            "CUSTODY_ENV": "test",
            "CUSTODY_DATA_DIR": str(tmpdir / "var"),
            "CUSTODY_NATS_URL": nats.url,
            "CUSTODY_ISSUER": TEST_ISSUER,
            "CUSTODY_AUDIENCE": TEST_AUDIENCE,
            "CUSTODY_JWKS_URL": f"http://127.0.0.1:{jwks_server.server_port}/jwks.json",
            "CUSTODY_STREAM_NAME": f"BENCH{tag.upper()}",
            "CUSTODY_SUBJECT_PREFIX": f"bench{tag}",
            "CUSTODY_LOG_LEVEL": "WARNING",
            "CUSTODY_SWEEP_INTERVAL_SECONDS": "0",
        }
        if args.database_url:
            env["CUSTODY_DATABASE_URL"] = f"{args.database_url.rstrip('/')}/bench{tag}"
        server_log = (tmpdir / "server.log").open("w")
        app = "services.enterprises.main:create_app"
        command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--log-level", "warning"]
        if args.profile:
            command = [
                sys.executable,
                "-m",
                "bench.profiled_server",
                str(args.profile.resolve()),
                app,
                "--port",
                str(port),
            ]
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        failed = True
        try:
            wait_for_port(port, timeout=60)
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
                time.sleep(0.1)
            baseline = rss_mib(server.pid)
            content_type = "text/csv; charset=gbk" if args.gbk else "text/csv"
            if args.xlsx:
                content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

            database = f"bench{tag}_enterprises"
            cpu_before, pg_before = cpu_seconds(server.pid), pg_cpu(args.database_url, database)
            seconds, report = upload(base, csv_path, make_token("admin", ttl=900), content_type)
            peak = peak_rss_mib(server.pid)
            service_cpu = cpu_seconds(server.pid) - cpu_before
            pg_after = pg_cpu(args.database_url, database)
            database_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
            print(
                f"import: {report['accepted']} accepted, {report['updated']} updated, {len(report['rejected'])} rejected "
                f"in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s); service RSS before {baseline:.0f} MiB, "
                f"peak {peak:.0f} MiB; CPU: service {service_cpu:.1f} s, PostgreSQL backends {database_cpu:.1f} s"
            )
            started = time.perf_counter()
            while asyncio.run(stream_count(nats.url, env["CUSTODY_STREAM_NAME"])) < report["accepted"]:
                time.sleep(0.5)
            drained = time.perf_counter() - started
            print(f"outbox: all {report['accepted']} events on the bus {drained:.1f} s after the import returned")

            # a fresh token: tokens live 15 minutes at most, and a loaded machine once took 949 s
            cpu_before, pg_before = cpu_seconds(server.pid), pg_cpu(args.database_url, database)
            again_seconds, again = upload(base, csv_path, make_token("admin", ttl=900), content_type)
            again_cpu = cpu_seconds(server.pid) - cpu_before
            pg_after = pg_cpu(args.database_url, database)
            again_database_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
            print(
                f"re-import: {again['accepted']} accepted, {again['updated']} updated, {again['unchanged']} unchanged "
                f"in {again_seconds:.1f} s; service peak RSS {peak_rss_mib(server.pid):.0f} MiB"
            )
            print(
                json.dumps(
                    {
                        "rows": args.rows,
                        "file_mib": round(size / 2**20, 1),
                        "backend": "postgresql" if args.database_url else "sqlite",
                        "encoding": report["encoding"],
                        "format": "xlsx" if args.xlsx else "csv",
                        "import_seconds": round(seconds, 1),
                        "service_cpu_seconds": round(service_cpu, 1),
                        "postgres_cpu_seconds": round(database_cpu, 1) if args.database_url else None,
                        "events_published_after_seconds": round(drained, 1),
                        "reimport_seconds": round(again_seconds, 1),
                        "reimport_service_cpu_seconds": round(again_cpu, 1),
                        "reimport_postgres_cpu_seconds": round(again_database_cpu, 1) if args.database_url else None,
                        "rss_before_mib": round(baseline),
                        "peak_rss_mib": round(peak_rss_mib(server.pid)),
                        "load_average_1m": round(os.getloadavg()[0], 1),
                        "cpus": os.cpu_count(),
                    }
                )
            )
            failed = False
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            server_log.close()
            if failed:
                print((tmpdir / "server.log").read_text()[-5000:], file=sys.stderr)
            jwks_server.shutdown()
            nats.stop()
            if args.database_url:
                asyncio.run(_drop(args.database_url, f"bench{tag}_enterprises"))


async def _drop(base_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{base_url.rstrip('/')}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
