"""The contracts service, declared (`uvicorn services.contracts.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.contracts.api import router
from services.contracts.consumers import CONSUMERS
from services.contracts.models import metadata
from services.contracts.sweeps import SWEEPS
from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

SERVICE = ServiceSpec(
    name="contracts",
    metadata=metadata,
    routers=[router],
    consumers=CONSUMERS,
    sweeps=SWEEPS,
    description="托管协议：起草、签署、备案与履约周期 / "
    "custody contracts: draft, signatures, filing, lifecycle (SPEC §9)",
)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, clock=clock, verifier=verifier)
