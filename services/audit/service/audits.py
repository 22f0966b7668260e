"""Quality audits: a logged, deterministic sample of contracts (see ``services.audit.sampling``)
becomes audit tasks; the bureau records each result, which feeds the agency's credit file.

One sample per period and scope (a district, or the whole city): a second request for the same
period and scope gets 409 with the existing sample, so nobody can redraw with other seeds until
the sample they like comes up.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError

from shared.app import ServiceContext
from shared.audit_trail import append as trail_append
from shared.auth import Principal
from shared.errors import ErrorCode, Conflict, FieldError, Forbidden, InvalidTransition, ValidationFailed
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of
from shared.reference import load_jurisdiction

from services.audit import credit as arithmetic
from services.audit import sampling
from services.audit.models import AuditSample, AuditTask, ContractView, EnterpriseView
from services.audit.schemas import AuditResult, SampleCreate
from services.audit.service import credit
from services.audit.service.common import Scope, forbid, not_found

log = structlog.get_logger("audit.audits")
SAMPLED_STATUSES = ("active", "filed")


def _scope_of(principal: Principal, requested: str | None) -> str | None:
    """The district to sample, or None for the whole city."""
    principal.require_role("bureau", "admin")
    jur = load_jurisdiction()
    if requested is not None and not jur.is_district(requested) and not jur.is_city(requested):
        raise ValidationFailed(text("未知的区县代码", "Unknown district code"), code=ErrorCode.UNKNOWN_DISTRICT,
                               errors=[FieldError("district", text("未知的区县代码", "unknown district code"))])
    if principal.sees_everything:
        return None if requested is None or jur.is_city(requested) else requested
    if not principal.district or (requested is not None and requested != principal.district):
        raise Forbidden(text("区县应急管理局只能抽查本辖区", "A district bureau samples its own district only"))
    return principal.district


async def sample(ctx: ServiceContext, *, principal: Principal, body: SampleCreate) -> tuple[AuditSample, list[AuditTask]]:
    district = _scope_of(principal, body.district)
    rate = body.rate if body.rate is not None else ctx.policy.audit_sample_rate
    seed = str(body.seed)
    scope_key = district or load_jurisdiction().city.code
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as session:
            existing = (await session.execute(sa.select(AuditSample.id).where(
                AuditSample.period == body.period, AuditSample.scope == scope_key))).scalar()
            if existing is not None:
                raise _exists(existing)
            stmt = (sa.select(ContractView, EnterpriseView.risk_level)
                    .join(EnterpriseView, EnterpriseView.uscc == ContractView.enterprise_uscc, isouter=True)
                    .where(ContractView.status.in_(SAMPLED_STATUSES)))
            if district:
                stmt = stmt.where(ContractView.district_code == district)
            rows = (await session.execute(stmt)).all()
            contracts = {str(c.id): c for c, _ in rows}
            population = [sampling.Candidate(str(c.id), str(c.agency_id), sampling.stratum_of(risk)) for c, risk in rows]
            drawn = sampling.draw(population, seed=seed, period=body.period, rate=rate)
            record = AuditSample(id=new_id(), period=body.period, scope=scope_key, district=district, seed=seed, rate=rate,
                                 population_size=drawn.population_size, population_sha256=drawn.population_sha256,
                                 strata=drawn.strata, chosen=[{"contract_id": p.contract_id, "agency_id": p.agency_id,
                                                               "risk_level": p.risk_level, "reason": p.reason}
                                                              for p in drawn.picks],
                                 created_by=principal.actor, created_at=now)
            session.add(record)
            await session.flush()
            taken = set((await session.execute(sa.select(AuditTask.contract_id).where(
                AuditTask.period == body.period))).scalars())
            tasks = []
            for pick in drawn.picks:
                c = contracts[pick.contract_id]
                if c.id in taken:
                    continue  # already under audit this period (sampled by another scope)
                task = AuditTask(id=new_id(), sample_id=record.id, period=body.period, contract_id=c.id,
                                 agency_id=c.agency_id, enterprise_uscc=c.enterprise_uscc, district_code=c.district_code,
                                 risk_level=pick.risk_level, reason=pick.reason, status="pending", created_at=now)
                session.add(task)
                tasks.append(task)
            await session.flush()
            await trail_append(session, ctx.infra.audit_trail, at=now, actor=principal.actor, action="audit.sampled",
                               entity_type="audit_sample", entity_id=str(record.id),
                               payload={"period": body.period, "scope": scope_key, "seed": seed, "rate": rate,
                                        "population_size": drawn.population_size,
                                        "population_sha256": drawn.population_sha256,
                                        "chosen": [p.contract_id for p in drawn.picks]})
    except IntegrityError as exc:
        async with ctx.db.reader() as session:
            existing = (await session.execute(sa.select(AuditSample.id).where(
                AuditSample.period == body.period, AuditSample.scope == scope_key))).scalar()
        if existing is None:
            raise
        raise _exists(existing) from exc
    log.info("audit.audits.sampled", sample_id=str(record.id), population=drawn.population_size, picked=len(drawn.picks))
    return record, tasks


def _exists(existing: uuid.UUID) -> Conflict:
    return Conflict(text("本期该范围已经抽样", "This period and scope have already been sampled"), code=ErrorCode.SAMPLE_EXISTS,
                    extra={"existing_id": str(existing)})


async def get_sample(ctx: ServiceContext, *, principal: Principal, sample_id: uuid.UUID) -> tuple[AuditSample, list[AuditTask]]:
    principal.require_role("bureau", "admin")
    async with ctx.db.reader() as session:
        record = (await session.execute(sa.select(AuditSample).where(AuditSample.id == sample_id))).scalar_one_or_none()
        if record is None:
            raise not_found("抽样记录")
        if not (principal.governs(record.district) if record.district else principal.sees_everything):
            raise forbid("无权查看其他区县的抽样", "You may not see another district's sample")
        tasks = (await session.execute(sa.select(AuditTask).where(AuditTask.sample_id == sample_id))).scalars().all()
    order = {c["contract_id"]: n for n, c in enumerate(record.chosen)}
    return record, sorted(tasks, key=lambda t: order.get(str(t.contract_id), len(order)))


async def record_result(ctx: ServiceContext, *, principal: Principal, task_id: uuid.UUID, body: AuditResult,
                        if_match: Callable[[int], None] | None = None) -> AuditTask:
    principal.require_role("bureau", "admin")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        task = (await session.execute(sa.select(AuditTask).where(AuditTask.id == task_id).with_for_update())).scalar_one_or_none()
        if task is None:
            raise not_found("审计任务")
        if not principal.governs(task.district_code):
            raise forbid("只有合同所在区县的应急管理局或市局可以登记审计结果",
                         "Only the bureau of the contract's district or the city bureau may record the result")
        if if_match:
            if_match(task.version)
        if task.status != "pending":
            raise InvalidTransition(text(f"审计任务当前状态为 {task.status}，不能执行 result", f"The audit task is {task.status}; cannot result"), current=task.status, action="result")
        scores = [s.model_dump() for s in body.scores]
        task.scores, task.findings, task.fraud = scores, body.findings, body.fraud
        task.total = round(sum(s["score"] for s in scores) / len(scores) + 1e-9, 1)
        task.status, task.completed_by, task.completed_at = "completed", principal.actor, now
        task.version += 1
        await session.flush()
        await ctx.outbox.emit(session, "audit.completed", {
            "id": str(task.id), "version": task.version, "contract_id": str(task.contract_id),
            "agency_id": str(task.agency_id), "total": task.total, "fraud": task.fraud, "period": task.period,
            "district_code": task.district_code})
        for kind, _ in arithmetic.audit_effects(task.total, task.fraud, ctx.policy.credit):
            await credit.record(session, ctx, agency_id=task.agency_id, kind=kind, ref=str(task.id), at=now)
        await trail_append(session, ctx.infra.audit_trail, at=now, actor=principal.actor, action="audit.completed",
                           entity_type="audit_task", entity_id=str(task.id),
                           payload={"contract_id": str(task.contract_id), "agency_id": str(task.agency_id),
                                    "scores": scores, "total": task.total, "fraud": task.fraud,
                                    "findings": body.findings})
    log.info("audit.audits.completed", task_id=str(task_id), total=task.total, fraud=task.fraud)
    return task


async def get_task(ctx: ServiceContext, *, principal: Principal, task_id: uuid.UUID) -> AuditTask:
    async with ctx.db.reader() as session:
        task = (await session.execute(sa.select(AuditTask).where(AuditTask.id == task_id))).scalar_one_or_none()
        if task is None:
            raise not_found("审计任务")
        scope = await Scope.of(session, principal)
        if not scope.sees(agency_id=task.agency_id, enterprise_uscc=task.enterprise_uscc, district_code=task.district_code):
            raise forbid("无权查看该审计任务", "You may not see this audit")
    return task


async def listing(ctx: ServiceContext, *, principal: Principal, status: str | None, agency_id: uuid.UUID | None,
                  period: str | None, page: PageParams) -> tuple[list[AuditTask], str | None]:
    async with ctx.db.reader() as session:
        scope = await Scope.of(session, principal)
        stmt = sa.select(AuditTask).where(scope.condition(agency_col=AuditTask.agency_id, uscc_col=AuditTask.enterprise_uscc,
                                                          district_col=AuditTask.district_code))
        if status:
            stmt = stmt.where(AuditTask.status == status)
        if agency_id:
            stmt = stmt.where(AuditTask.agency_id == agency_id)
        if period:
            stmt = stmt.where(AuditTask.period == period)
        stmt = keyset(stmt, [AuditTask.id], page, convert=[uuid.UUID])
        rows = (await session.execute(stmt)).scalars().all()
    return page_of(rows, page, lambda r: [r.id])


def sample_view(record: AuditSample, tasks: list[AuditTask]) -> dict[str, Any]:
    return {**{k: getattr(record, k) for k in ("id", "period", "district", "seed", "rate", "population_size",
                                                "population_sha256", "strata", "chosen", "created_by", "created_at")},
            "tasks": tasks}
