"""The registry service (`uvicorn services.registry.main:create_app --factory`): the policy in
force (GET /api/v1/policy), agency filing and review, documents, and the public directory
(SPEC §3, §4, §7). The filing's states are in states.py, its use cases in service/."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.api import DOCUMENTS_PATH, ROUTERS
from services.registry.consumers import CONSUMERS
from services.registry.models import metadata
from services.registry.sweeps import SWEEPS
from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

SERVICE = ServiceSpec(
    name="registry",
    metadata=metadata,
    routers=ROUTERS,
    consumers=CONSUMERS,
    sweeps=SWEEPS,
    non_json_paths=(DOCUMENTS_PATH,),
    description="机构备案、资质审核与公示名单 / agency filing, review and the public directory",
)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, clock=clock, verifier=verifier)
