"""Quality audits: a logged, deterministic sample of contracts becomes audit tasks; the bureau
records each result, which feeds the agency's credit file (SPEC §10).

The sampling recipe (pure): the same seed, period, rate and population always give the same
sample, so anyone holding the sample log can recompute it and see nobody picked contracts by hand —

1. The population (active and filed contracts) is split into strata by the enterprise's risk
   level; each stratum is sorted by contract id.
   Contracts of agencies graded C or D when the sample is drawn (SPEC §19) form a stratum of
   their own within their risk level (``red:watched``) and are drawn at twice the rate (at most
   all of them); the watched agencies are logged with the sample. So are the contracts of
   enterprises on the serious-dishonesty list at the draw (listed, repairable, repair requested),
   logged as ``watched_enterprises`` (docs/DECISIONS.md D47).
2. From each stratum ``ceil(rate × size)`` contracts are drawn with
   ``random.Random(f"{key}:{period}:{stratum}")``, where ``key`` is the bureau's seed mixed with a
   ``server_nonce`` the server draws at that moment and logs (``f"{seed}:{server_nonce}"``): the
   draw stays recomputable from the log, but a bureau cannot grind seeds offline for the sample it
   likes, because it does not know the nonce before it draws.
3. Every agency with at least one red-risk client that no drawn contract covers gets one of its
   red-risk contracts, drawn with ``random.Random(f"{key}:{period}:cover:{agency_id}")``.

One sample per scope (a district, or the whole city) for any stretch of time: a request whose
period overlaps a sampled one (2026 and 2026-Q4, 2026-H1 and 2026-03) gets 409 ``sample_exists``
with the existing sample, so nobody can redraw until the sample they like comes up. A contract
already under audit in the period gets no second task.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError

from services.audit import events
from services.audit.models import AuditSample, AuditTask, AuditTaskReason, ListingOrgKind
from services.audit.repository import Listing
from services.audit.repository.audits import AuditSamples, AuditTasks, sampling_scope
from services.audit.repository.credit import CreditFiles
from services.audit.repository.listings import CreditListings
from services.audit.repository.readmodels import Contracts
from services.audit.schemas import AuditResult, SampleCreate
from services.audit.service.credit import audit_effects, record_credit
from services.audit.states import (
    AUDIT_TASK,
    DRAWS_SAMPLES,
    READS_SAMPLES,
    RECORD_RESULT,
    AuditTaskStatus,
    ContractStatus,
)
from shared.db import serialise
from shared.errors import Conflict, ErrorCode, FieldError, ValidationFailed
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import RiskLevel, load_jurisdiction
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.audits")
SAMPLED = (ContractStatus.ACTIVE, ContractStatus.FILED)
UNKNOWN_RISK = "unknown"  # the stratum of contracts whose enterprise is not known here yet
STRATA = (*(str(level) for level in (RiskLevel.red, RiskLevel.orange, RiskLevel.yellow, RiskLevel.blue)), UNKNOWN_RISK)


# --- the sampling recipe (pure) -------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    contract_id: str
    agency_id: str
    risk_level: str  # a risk level, or unknown
    enterprise_uscc: str = ""  # (a listed enterprise's contracts are watched too)


WATCHED_GRADES = ("C", "D")  # agencies drawn at twice the rate (SPEC §19)
WATCHED = ":watched"


@dataclass(frozen=True)
class Pick:
    contract_id: str
    agency_id: str
    risk_level: str
    reason: AuditTaskReason


@dataclass(frozen=True)
class Sample:
    picks: list[Pick]
    strata: dict[str, dict[str, int]]  # stratum -> {size, drawn}
    population_size: int
    population_sha256: str


def stratum_of(level: str | None) -> str:
    return level if level in STRATA else UNKNOWN_RISK


def population_digest(population: list[Candidate]) -> str:
    lines = sorted(f"{c.contract_id}|{c.agency_id}|{stratum_of(c.risk_level)}" for c in population)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def draw(
    population: list[Candidate],
    *,
    seed: str | int,
    period: str,
    rate: float,
    server_nonce: str = "",
    watched: frozenset[str] = frozenset(),
    watched_enterprises: frozenset[str] = frozenset(),
) -> Sample:
    """``watched``: the agencies graded C or D; ``watched_enterprises``: the USCCs of enterprises on
    the serious-dishonesty list (a contract is watched for either); ``server_nonce``: the server's
    part of the seed (empty for samples drawn before it existed, which recompute as they were drawn)."""
    if not 0 < rate <= 1:
        raise ValueError("rate must be in (0, 1]")
    key = f"{seed}:{server_nonce}" if server_nonce else str(seed)
    unique = {c.contract_id: c for c in population}
    by_stratum: dict[str, list[Candidate]] = {}
    for candidate in unique.values():
        is_watched = candidate.agency_id in watched or candidate.enterprise_uscc in watched_enterprises
        stratum = stratum_of(candidate.risk_level) + (WATCHED if is_watched else "")
        by_stratum.setdefault(stratum, []).append(candidate)
    picks: list[Pick] = []
    strata: dict[str, dict[str, int]] = {}
    for stratum in (s + suffix for s in STRATA for suffix in ("", WATCHED)):
        members = sorted(by_stratum.get(stratum, []), key=lambda c: c.contract_id)
        if not members:
            continue
        stratum_rate = min(1.0, 2 * rate) if stratum.endswith(WATCHED) else rate
        k = min(len(members), math.ceil(stratum_rate * len(members) - 1e-9))
        chosen = random.Random(f"{key}:{period}:{stratum}").sample(members, k)
        level = stratum.removesuffix(WATCHED)
        picks += [
            Pick(c.contract_id, c.agency_id, level, AuditTaskReason.STRATUM)
            for c in sorted(chosen, key=lambda c: c.contract_id)
        ]
        strata[stratum] = {"size": len(members), "drawn": k}
    covered = {p.agency_id for p in picks}
    red_by_agency: dict[str, list[Candidate]] = {}
    for candidate in by_stratum.get(RiskLevel.red, []) + by_stratum.get(RiskLevel.red + WATCHED, []):
        red_by_agency.setdefault(candidate.agency_id, []).append(candidate)
    for agency_id in sorted(red_by_agency):
        if agency_id in covered:
            continue
        options = sorted(red_by_agency[agency_id], key=lambda c: c.contract_id)
        extra = random.Random(f"{key}:{period}:cover:{agency_id}").choice(options)
        picks.append(Pick(extra.contract_id, agency_id, RiskLevel.red, AuditTaskReason.RED_COVERAGE))
        covered.add(agency_id)
    return Sample(
        picks=picks,
        strata=strata,
        population_size=len(unique),
        population_sha256=population_digest(list(unique.values())),
    )


# --- use cases ------------------------------------------------------------------------------------
def _exists(existing: uuid.UUID) -> Conflict:
    return Conflict(
        text("本期该范围已经抽样", "This period and scope have already been sampled"),
        code=ErrorCode.SAMPLE_EXISTS,
        extra={"existing_id": str(existing)},
    )


def _known_district(requested: str | None) -> None:
    jurisdiction = load_jurisdiction()
    if requested is not None and not jurisdiction.is_district(requested) and not jurisdiction.is_city(requested):
        raise ValidationFailed(
            text("未知的区县代码", "Unknown district code"),
            code=ErrorCode.UNKNOWN_DISTRICT,
            errors=[FieldError("district", text("未知的区县代码", "unknown district code"))],
        )


async def draw_sample(uow: UnitOfWork, *, body: SampleCreate) -> AuditSample:
    """The sample's log with the tasks it created, in the order drawn; the draw on the audit trail."""
    uow.principal.require_role(*DRAWS_SAMPLES)
    _known_district(body.district)
    district = sampling_scope(uow.principal, body.district)
    scope = district or load_jurisdiction().city.code
    rate = body.rate if body.rate is not None else uow.policy.audit_sample_rate
    seed = str(body.seed)
    try:
        async with uow:
            samples = AuditSamples(uow.session)
            await serialise(uow.session, f"audit_sample:{scope}")  # two overlapping draws: one waits
            existing = await samples.overlapping(period=body.period, scope=scope)
            if existing is not None:
                raise _exists(existing)
            rows = await Contracts(uow.session).population(statuses=SAMPLED, district=district)
            contracts = {str(c.id): c for c, _ in rows}
            in_population = {str(c.agency_id) for c, _ in rows}
            watched = sorted(set(await CreditFiles(uow.session).graded(WATCHED_GRADES)) & in_population)
            clients = {c.enterprise_uscc for c, _ in rows}
            listed = await CreditListings(uow.session).on_the_list(ListingOrgKind.ENTERPRISE)
            watched_enterprises = sorted(set(listed) & clients)
            server_nonce = secrets.token_hex(16)
            drawn = draw(
                [Candidate(str(c.id), str(c.agency_id), stratum_of(risk), c.enterprise_uscc) for c, risk in rows],
                seed=seed,
                period=body.period,
                rate=rate,
                server_nonce=server_nonce,
                watched=frozenset(watched),
                watched_enterprises=frozenset(watched_enterprises),
            )
            sample = AuditSample(
                id=new_id(),
                period=body.period,
                scope=scope,
                district=district,
                seed=seed,
                server_nonce=server_nonce,
                watched_agencies=watched,
                watched_enterprises=watched_enterprises,
                rate=rate,
                population_size=drawn.population_size,
                population_sha256=drawn.population_sha256,
                strata=drawn.strata,
                chosen=[
                    {
                        "contract_id": p.contract_id,
                        "agency_id": p.agency_id,
                        "risk_level": str(p.risk_level),
                        "reason": str(p.reason),
                    }
                    for p in drawn.picks
                ],
                created_by=uow.principal.actor,
                created_at=uow.now,
            )
            taken = await AuditTasks(uow.session).contracts_under_audit(body.period)  # sampled by another scope
            sample.tasks = [
                AuditTask(
                    id=new_id(),
                    sample_id=sample.id,
                    period=body.period,
                    contract_id=c.id,
                    agency_id=c.agency_id,
                    enterprise_uscc=c.enterprise_uscc,
                    district_code=c.district_code,
                    risk_level=str(pick.risk_level),
                    reason=pick.reason,
                    status=AuditTaskStatus.PENDING,
                    created_at=uow.now,
                )
                for pick in drawn.picks
                if (c := contracts[pick.contract_id]).id not in taken
            ]
            await samples.add(sample)
            await uow.audit(
                action="audit.sampled",
                entity_type="audit_sample",
                entity_id=sample.id,
                payload={
                    "period": body.period,
                    "scope": scope,
                    "seed": seed,
                    "server_nonce": server_nonce,
                    "watched_agencies": watched,
                    "watched_enterprises": watched_enterprises,
                    "rate": rate,
                    "population_size": drawn.population_size,
                    "population_sha256": drawn.population_sha256,
                    "chosen": [p.contract_id for p in drawn.picks],
                },
            )
    except IntegrityError as exc:  # a concurrent request drew the same period and scope first
        async with uow.read() as session:
            existing = await AuditSamples(session).id_for(period=body.period, scope=scope)
        if existing is None:
            raise
        raise _exists(existing) from exc
    log.info(
        "audit.audits.sampled", sample_id=str(sample.id), population=drawn.population_size, picked=len(drawn.picks)
    )
    return sample


async def get_sample(uow: UnitOfWork, *, sample_id: uuid.UUID) -> AuditSample:
    uow.principal.require_role(*READS_SAMPLES)
    async with uow.read() as session:
        return await AuditSamples(session).get(sample_id, uow.principal)


async def record_result(uow: UnitOfWork, *, task_id: uuid.UUID, body: AuditResult, if_match: Precondition) -> AuditTask:
    """The task completed with its total (the mean score, one decimal); ``audit.completed``, the
    credit its score band and any fraud finding earn, and the result on the audit trail."""
    async with uow:
        task = await AuditTasks(uow.session).get(task_id, uow.principal, write=True)
        AUDIT_TASK.authorize(RECORD_RESULT, uow.principal.role)  # 403 before 412 before 409
        if_match.check(task.version)
        step = AUDIT_TASK.step(RECORD_RESULT, task.status, uow.principal.role)
        scores = [s.model_dump() for s in body.scores]
        task.scores, task.findings, task.fraud = scores, body.findings, body.fraud
        task.total = round(sum(s["score"] for s in scores) / len(scores) + 1e-9, 1)
        task.status, task.completed_by, task.completed_at = step.target, uow.principal.actor, uow.now
        task.version += 1
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.audit_completed(task)))
        for kind, _ in audit_effects(task.total, task.fraud, uow.policy.credit):
            await record_credit(uow, agency_id=task.agency_id, kind=kind, ref=str(task.id))
        await uow.audit(
            action="audit.completed",
            entity_type="audit_task",
            entity_id=task.id,
            payload={
                "contract_id": str(task.contract_id),
                "agency_id": str(task.agency_id),
                "scores": scores,
                "total": task.total,
                "fraud": task.fraud,
                "findings": body.findings,
            },
        )
    log.info("audit.audits.completed", task_id=str(task_id), total=task.total, fraud=task.fraud)
    return task


async def get_audit_task(uow: UnitOfWork, *, task_id: uuid.UUID) -> AuditTask:
    async with uow.read() as session:
        return await AuditTasks(session).get(task_id, uow.principal)


async def list_audit_tasks(
    uow: UnitOfWork,
    *,
    status: AuditTaskStatus | None,
    agency_id: uuid.UUID | None,
    period: str | None,
    page: PageParams,
) -> Listing[AuditTask]:
    async with uow.read() as session:
        return await AuditTasks(session).listing(
            uow.principal, status=status, agency_id=agency_id, period=period, page=page
        )
