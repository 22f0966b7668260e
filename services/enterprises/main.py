"""The enterprises service: app factory (`uvicorn services.enterprises.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.enterprises.api import IMPORT_PATH, router
from services.enterprises.consumers import CONSUMERS
from services.enterprises.models import metadata
from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

SERVICE = ServiceSpec(
    name="enterprises",
    metadata=metadata,
    routers=[router],
    consumers=CONSUMERS,
    non_json_paths=(IMPORT_PATH,),
    description="企业档案、四级属地、风险分级（红橙黄蓝）、批量导入 / "
    "enterprise records, jurisdiction, risk, bulk import",
)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, clock=clock, verifier=verifier)
