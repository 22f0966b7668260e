"""Running a throwaway app (``tests/faults/fakes.py``) as its own uvicorn process, so that a test
can SIGKILL it for real."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devtools.natsserver import free_port
from devtools.processes import stop_process, wait_until_ready
from devtools.supervisor import settings_env
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AppProcess:
    target: str  # "tests.faults.fakes:writer_from_env"
    settings: Settings
    log_file: Path
    extra_env: dict[str, str] | None = None
    port: int = 0
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, extra_env: dict[str, str] | None = None) -> AppProcess:
        env = {**os.environ, **settings_env(self.settings), **(self.extra_env or {}), **(extra_env or {})}
        env["PYTHONPATH"] = str(ROOT)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab")  # noqa: SIM115  # the child process writes to it for its whole life
        self.process = subprocess.Popen(
            [
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
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until_ready(
            f"{self.url}/readyz", timeout=timeout, alive=lambda: self.running, what=self.target, log_file=self.log_file
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        stop_process(self.process, kill=True)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
