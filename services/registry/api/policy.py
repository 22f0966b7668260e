"""The policy (SPEC §3, §22): the version in force, every version, publishing a version.
Routes only: parse, call one use case, declare the response."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.registry.service import policy as service
from shared.app import RuntimeDep, UoW
from shared.auth import CurrentPrincipal
from shared.policy_versions import PolicyInForce, PolicyVersion, PolicyVersionIn

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


# public reads: no token is read at all (the service's own unit of work)
@router.get("", response_model=PolicyInForce, summary="现行实施方案参数 / the policy in force")
async def get_policy(runtime: RuntimeDep) -> PolicyInForce:
    return PolicyInForce.of(service.in_force(runtime.unit_of_work()))


@router.get("/versions", response_model=list[PolicyVersion], summary="实施方案各版本 / every version of the policy")
async def list_versions(runtime: RuntimeDep) -> list[PolicyVersion]:
    return await service.list_versions(runtime.unit_of_work())


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
