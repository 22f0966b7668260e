"""The audit service: app factory (`uvicorn services.audit.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

from services.audit.api import audits, complaints, compliance, credit, hazards, servicelogs
from services.audit.models import metadata
from services.audit.readmodels.consumers import HANDLERS
from services.audit.sweeps import sweep


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="audit", metadata=metadata,
        routers=[servicelogs.router, hazards.router, compliance.router, audits.router, complaints.router, credit.router],
        handlers=HANDLERS, sweep=sweep,
        description="服务记录、隐患闭环、履约、质量审计、投诉与诚信档案 / service logs, hazards, compliance, audits, complaints, credit",
    )


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    return create_service_app(spec(), settings or Settings(), clock=clock, verifier=verifier)
