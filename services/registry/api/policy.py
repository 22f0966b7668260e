"""The policy (SPEC §3, §22): the version in force, every version, publishing a version.
Routes only: parse, call one use case, declare the response."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter

from services.registry.service import policy as service
from shared.app import RuntimeDep, UoW
from shared.auth import CurrentPrincipal
from shared.conditional import conditional
from shared.policy_versions import PolicyInForce, PolicyVersion, PolicyVersionIn

IN_FORCE = TypeAdapter(PolicyInForce)
VERSIONS = TypeAdapter(list[PolicyVersion])
directory_version = service.directory_version  # the directory's routes use it too

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


# public reads: no token is read at all (the service's own unit of work)
@router.get("", response_model=PolicyInForce, summary="现行实施方案参数 / the policy in force")
async def get_policy(runtime: RuntimeDep, request: Request) -> Any:
    uow = runtime.unit_of_work()

    async def render() -> bytes:
        return IN_FORCE.dump_json(PolicyInForce.of(service.in_force(uow)))

    return await conditional(request, version=service.in_force_version(uow), render=render)


@router.get("/versions", response_model=list[PolicyVersion], summary="实施方案各版本 / every version of the policy")
async def list_versions(runtime: RuntimeDep, request: Request) -> Any:
    uow = runtime.unit_of_work()

    async def render() -> bytes:
        return VERSIONS.dump_json(await service.list_versions(uow))

    return await conditional(request, version=await service.versions_version(uow), render=render)


@router.post(
    "/versions",
    status_code=201,
    response_model=PolicyVersion,
    summary="发布实施方案新版本（市局、管理员）/ publish a version (city bureau, admin)",
)
async def publish_version(body: PolicyVersionIn, uow: UoW, _: CurrentPrincipal, response: Response) -> PolicyVersion:
    version = await service.publish(uow, effective_from=body.effective_from, policy=body.policy)
    response.headers["Location"] = "/api/v1/policy/versions"
    return version
