"""The contracts service: app factory (`uvicorn services.contracts.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.policy import load_policy
from shared.settings import Settings

from services.contracts.api import router
from services.contracts.consumers import make_handlers
from services.contracts.models import metadata
from services.contracts.sweeps import sweep

DESCRIPTION = "托管协议：起草、签署、备案与履约周期 / custody contracts: draft, signatures, filing, lifecycle (SPEC §9)"


def spec(settings: Settings | None = None, clock: Clock | None = None) -> ServiceSpec:
    handlers = make_handlers(clock=clock or Clock(), policy=load_policy(settings))
    return ServiceSpec(name="contracts", metadata=metadata, routers=[router], handlers=handlers, sweep=sweep,
                       description=DESCRIPTION)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    return create_service_app(spec(settings, clock), settings, clock=clock, verifier=verifier)
