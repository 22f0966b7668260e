"""The audit service: declared once (`uvicorn services.audit.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit.api import ROUTERS
from services.audit.consumers import CONSUMERS
from services.audit.models import metadata
from services.audit.sweeps import SWEEPS
from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

SERVICE = ServiceSpec(
    name="audit",
    metadata=metadata,
    routers=ROUTERS,
    consumers=CONSUMERS,
    sweeps=SWEEPS,
    non_json_paths=(r"^/api/v1/attachments$",),  # multipart uploads (SPEC §16)
    description=(
        "服务记录、隐患闭环、履约、质量审计、投诉与诚信档案 / "
        "service logs, hazards, compliance, audits, complaints, credit"
    ),
)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, clock=clock, verifier=verifier)
