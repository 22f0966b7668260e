"""Starting and supervising the platform's processes: the embedded nats-server (when no external
NATS is configured), the five services and the gateway, each a separate uvicorn process.

Used by ``custody up`` (``make run``) and by the tests and benchmarks that run the real platform.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.natsserver import NatsServer
from devtools.processes import stop_process, wait_until_ready
from shared.settings import SERVICES, Settings

APP_TARGETS = {
    "registry": "services.registry.main:create_app",
    "enterprises": "services.enterprises.main:create_app",
    "contracts": "services.contracts.main:create_app",
    "audit": "services.audit.main:create_app",
    "notify": "services.notify.main:create_app",
    "gateway": "gateway.main:create_app",
    "portal": "portal.main:create_app",
}
COMPONENTS = (*SERVICES, "gateway", "portal")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"CUSTODY_{name.upper()}"] = str(value)
    return env


@dataclass
class Component:
    name: str
    port: int
    env: dict[str, str]
    log_file: Path
    host: str = "127.0.0.1"
    replica: int = 0
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            APP_TARGETS[self.name],
            "--factory",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "5",
        ]
        # Own session: Ctrl-C reaches the supervisor, which stops the children in order.
        with open(self.log_file, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                cmd, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, kill: bool = False, timeout: float = 10.0) -> None:
        stop_process(self.process, kill=kill, timeout=timeout)
        self.process = None

    def wait_ready(self, timeout: float = 60.0) -> float:
        return wait_until_ready(
            f"{self.url}/readyz",
            timeout=timeout,
            alive=lambda: self.running,
            what=self.name,
            log_file=self.log_file,
            service=self.name,
        )


@dataclass
class Supervisor:
    settings: Settings
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    nats: NatsServer | None = None
    components: list[Component] = field(default_factory=list)

    def __post_init__(self) -> None:
        env = {**settings_env(self.settings), **self.extra_env}
        for name in COMPONENTS:
            base_port = self.settings.port_of(name)
            for replica in range(self.replicas.get(name, 1)):
                # A second replica listens on its own port (base + 100 × replica); the gateway
                # talks to the first, a load balancer would spread over all in production.
                port = base_port + 100 * replica
                self.components.append(
                    Component(
                        name,
                        port,
                        env,
                        self.log_dir / f"{name}-{replica}.log",
                        host=self.settings.host,
                        replica=replica,
                    )
                )
        if self.settings.uses_embedded_nats:
            self.nats = NatsServer(
                port=self.settings.embedded_nats_port,
                store_dir=self.settings.data_dir / "nats",
                name="custody-embedded",
                log_file=self.log_dir / "nats.log",
            )

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.nats is not None:
            self.nats.start()
        for component in self.components:
            component.start()

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until every component answers /readyz 200; returns the seconds it took."""
        started = time.monotonic()
        for component in self.components:
            component.wait_ready(max(1.0, timeout - (time.monotonic() - started)))
        return time.monotonic() - started

    def check(self) -> list[str]:
        """Restart what died (the NATS server and any component); returns what was restarted."""
        restarted = []
        if self.nats is not None and not self.nats.running:
            self.nats.start()
            restarted.append("nats")
        for component in self.components:
            if component.process is not None and not component.running:
                component.restarts += 1
                component.start()
                restarted.append(component.name)
        return restarted

    def component(self, name: str, replica: int = 0) -> Component:
        return next(c for c in self.components if c.name == name and c.replica == replica)

    def stop(self) -> None:
        for component in reversed(self.components):
            if component.process is not None and component.process.poll() is None:
                component.process.send_signal(signal.SIGTERM)
        for component in reversed(self.components):
            component.stop()
        if self.nats is not None:
            self.nats.stop()
