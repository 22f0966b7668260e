"""The registry service: app factory (`uvicorn services.registry.main:create_app --factory`).

Policy (GET /api/v1/policy), agency filing and review, documents, and the public directory
(SPEC §3, §4, §7); see service.py for the state machine and the decisions behind it.
"""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.settings import Settings

from services.registry.api import DOCUMENTS_PATH, ROUTERS
from services.registry.consumers import HANDLERS
from services.registry.models import metadata
from services.registry.sweeps import sweep


def spec() -> ServiceSpec:
    return ServiceSpec(name="registry", metadata=metadata, routers=ROUTERS, handlers=HANDLERS, sweep=sweep,
                       non_json_paths=(DOCUMENTS_PATH,),
                       description="机构备案、资质审核与公示名单 / agency filing, review and the public directory")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    return create_service_app(spec(), settings or Settings(), clock=clock, verifier=verifier)
