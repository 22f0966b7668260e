"""The audit service: app factory (`uvicorn services.audit.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

from services.audit.models import metadata


def spec() -> ServiceSpec:
    return ServiceSpec(name="audit", metadata=metadata, routers=[], handlers={})


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    return create_service_app(spec(), settings or Settings(), clock=clock, verifier=verifier)
