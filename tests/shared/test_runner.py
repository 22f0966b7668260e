"""`make run` / `custody up`: the embedded NATS, four services and the gateway come up ready, and
Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devtools.natsserver import free_port
from shared.settings import SERVICES


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_custody_up_starts_everything_and_ctrl_c_stops_it(tmp_path):
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    env = {
        **os.environ,
        "CUSTODY_DATA_DIR": str(tmp_path / "var"),
        "CUSTODY_EMBEDDED_NATS_PORT": str(free_port()),
        **{f"CUSTODY_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    env.pop("CUSTODY_NATS_URL", None)
    env.pop("CUSTODY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        ready = set()
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline and len(ready) < len(ports):
                for name, port in ports.items():
                    try:
                        if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                            ready.add(name)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.3)
        assert ready == set(ports), f"not ready: {set(ports) - ready}"
        children = descendants(proc.pid)
        assert len(children) >= 6  # nats-server + five uvicorn processes
        assert (tmp_path / "var" / "registry.db").exists() and (tmp_path / "var" / "nats").is_dir()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=40)
        assert proc.returncode == 0, output
        assert "stopped" in output and "custody-dev-secret" in output
        time.sleep(0.5)
        assert [pid for pid in children if alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
