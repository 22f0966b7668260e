"""What every figure needs: isolated backends (SQLite + a private nats-server, or PostgreSQL + the
machine's NATS, each with its own database names and stream), real uvicorn processes, resident
memory from /proc, percentiles, and the result records that ``bench.run`` prints and saves.

Every figure is a ratio against a reference measured in the same run, or a latency; the machines
are shared and noisy, so nothing here compares against a number measured at another time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devtools.natsserver import NatsServer, free_port
from devtools.processes import stop_process
from devtools.supervisor import settings_env
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var" / "bench"
PG_BASE = os.environ.get("CUSTODY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SYSTEM_NATS = os.environ.get("CUSTODY_BENCH_NATS", "nats://127.0.0.1:4222")
BACKENDS = ("sqlite", "postgres")


# --- results ------------------------------------------------------------------------------------
@dataclass
class Result:
    figure: str  # e.g. "2 event latency"
    name: str  # what was measured, e.g. "p99"
    backend: str  # sqlite | postgres | -
    value: float
    unit: str
    target: str = ""  # human readable, e.g. "<= 25 ms"
    ok: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# --- backends -----------------------------------------------------------------------------------
class Backend:
    """Isolated settings on one backend kind: own SQLite dir or PostgreSQL database names, own
    stream and subject prefix, and (for SQLite) a private nats-server as the embedded default."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.tag = uuid.uuid4().hex[:8]
        self.workdir = workdir / f"{kind}-{self.tag}"
        self.nats: NatsServer | None = None
        self.pg_prefix = f"bench{self.tag}"
        self.stream = f"BENCH{self.tag.upper()}"
        self.prefix = f"bench{self.tag}"

    @property
    def nats_url(self) -> str:
        return self.nats.url if self.nats else SYSTEM_NATS

    def settings(self, **overrides: Any) -> Settings:
        from devtools.testing.tokens import TEST_AUDIENCE, TEST_ISSUER

        values: dict[str, Any] = {
            "env": "test",
            "data_dir": self.workdir / "var",
            "nats_url": self.nats_url,
            "stream_name": self.stream,
            "subject_prefix": self.prefix,
            "issuer": TEST_ISSUER,
            "audience": TEST_AUDIENCE,
            "sweep_interval_seconds": 0,
            "log_level": "WARNING",
        }
        if self.kind == "postgres":
            values["database_url"] = f"{PG_BASE}/{self.pg_prefix}"
        values.update(overrides)
        return Settings(_env_file=None, **values)

    def database_url(self, name: str) -> str:
        """A database of our own for a reference server (same kind as the services')."""
        if self.kind == "postgres":
            return f"postgresql+asyncpg://{PG_BASE.split('://', 1)[1]}/{self.pg_prefix}_{name}"
        return f"sqlite+aiosqlite:///{(self.workdir / 'var' / f'{name}.db').as_posix()}"

    async def __aenter__(self) -> Backend:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "var").mkdir(exist_ok=True)
        if self.kind == "sqlite":
            self.nats = NatsServer(
                port=free_port(),
                store_dir=self.workdir / "nats",
                name=f"bench-{self.tag}",
                log_file=self.workdir / "nats.log",
            ).start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.kind == "postgres":
            await drop_databases(self.pg_prefix)
            await delete_streams(SYSTEM_NATS, [self.stream, f"{self.stream}_DLQ"])
        if self.nats is not None:
            self.nats.stop()
        if exc and exc[0] is not None:  # keep the processes' logs of a failed figure
            kept = VAR / "failed" / self.workdir.name
            for path in self.workdir.rglob("*.log"):
                (kept / path.relative_to(self.workdir)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, kept / path.relative_to(self.workdir))
        shutil.rmtree(self.workdir, ignore_errors=True)


async def drop_databases(prefix: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_streams(url: str, names: list[str]) -> None:
    import nats

    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=1)
    except Exception:
        return
    js = nc.jetstream()
    for name in names:
        with suppress(Exception):
            await js.delete_stream(name)
    await nc.close()


def postgres_available() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


# --- processes ----------------------------------------------------------------------------------
@dataclass
class Server:
    """One uvicorn process serving an app factory on a free port."""

    target: str
    env: dict[str, str]
    log_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab")  # noqa: SIM115  # the server process writes to it for its whole life
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.target,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    async def wait_ready(self, path: str = "/readyz", timeout: float = 60.0) -> float:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.target} exited; see {self.log_file}")
                try:
                    if (await client.get(self.url + path)).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{self.target} not ready after {timeout}s; see {self.log_file}")
                await asyncio.sleep(0.1)

    def rss_mib(self) -> float | None:
        return rss_mib(self.process.pid) if self.process else None

    def stop(self) -> None:
        stop_process(self.process, timeout=15)
        self.process = None


@asynccontextmanager
async def serving(
    target: str, env: dict[str, str], log_file: Path, *, ready_path: str = "/readyz"
) -> AsyncIterator[Server]:
    server = Server(target, env, log_file).start()
    try:
        await server.wait_ready(ready_path)
        yield server
    finally:
        server.stop()


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    return {**settings_env(settings), **extra}


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process (VmRSS from /proc/<pid>/status), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat). CPU per request
    is far steadier than requests/s on a shared, loaded machine: it does not count the time the
    process waited for a core."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    return os.getloadavg()[0]


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
