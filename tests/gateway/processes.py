"""The real gateway and real service processes (uvicorn on free ports) for the gateway's
end-to-end tests. Only the services a test needs are started (registry and audit: their shared
admin endpoints exercise authentication end to end), which keeps the suite fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from devtools.natsserver import free_port
from devtools.supervisor import Component, settings_env
from shared.settings import Settings
from tests.gateway.helpers import ADMIN_ID, ADMIN_SECRET


class Processes:
    def __init__(
        self, settings: Settings, workdir: Path, *, services: tuple[str, ...] = ("registry", "audit"), **overrides: Any
    ) -> None:
        self.key = RSAKey.generate_key(2048, private=True)
        key_file = workdir / "signing.pem"
        key_file.write_bytes(self.key.as_pem(private=True))
        ports = {f"{name}_port": free_port() for name in ("gateway", "registry", "enterprises", "contracts", "audit")}
        self.settings = settings.model_copy(
            update={
                **ports,
                "issuer": None,
                "jwks_url": None,
                "admin_client_id": ADMIN_ID,
                "admin_client_secret": ADMIN_SECRET,
                "signing_key_file": key_file,
                "sweep_interval_seconds": 0,
                "signup_rate_limit": 10_000,
                "refresh_grace_seconds": 1.0,
                **overrides,
            }
        )
        env = settings_env(self.settings)
        self.components = {
            name: Component(name, self.settings.port_of(name), env, workdir / "logs" / f"{name}.log")
            for name in ("gateway", *services)
        }
        self.url = self.settings.url_of("gateway")

    def url_of(self, name: str) -> str:
        return self.settings.url_of(name)

    def start(self, timeout: float = 60.0) -> None:
        for component in self.components.values():
            component.start()
        for name in self.components:
            self.wait_ready(name, timeout)

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        self.components[name].wait_ready(timeout)

    def stop(self) -> None:
        for component in self.components.values():
            component.stop()
