"""The enterprises service: app factory (`uvicorn services.enterprises.main:create_app --factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import ServiceSpec, create_service_app
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.events.outbox import Outbox
from shared.policy import load_policy
from shared.settings import Settings

from services.enterprises.api import IMPORT_PATH, router
from services.enterprises.consumers import make_handlers
from services.enterprises.models import infra, metadata

DESCRIPTION = "企业档案、四级属地、风险分级（红橙黄蓝）、批量导入 / enterprise records, jurisdiction, risk, bulk import"


def spec(settings: Settings | None = None, clock: Clock | None = None) -> ServiceSpec:
    clock = clock or Clock()
    handlers = make_handlers(policy=load_policy(settings), outbox=Outbox(infra.outbox, clock), clock=clock)
    return ServiceSpec(name="enterprises", metadata=metadata, routers=[router], handlers=handlers,
                       non_json_paths=(IMPORT_PATH,), description=DESCRIPTION)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    return create_service_app(spec(settings, clock), settings, clock=clock, verifier=verifier)
