"""The policy's versions (SPEC §3, §22): the registry owns them. Publishing one stores it in the
registry's ``policy_versions`` table and emits ``policy.published`` with the whole document (every
service keeps it: shared.policy_versions); the public reads them.

Rules (docs/DECISIONS.md D56): the city bureau or an admin publishes;
``effective_from`` is today or later and not before the latest version's (on the same day the
later version wins, so a mistake in a version not yet in force is corrected by publishing again)."""

from __future__ import annotations

from datetime import date

from services.registry.models import DIRECTORY_GENERATION, POLICY_GENERATION, policy_versions, read_generations
from shared.conditional import read_generations as read_generation_rows
from shared.db import insert_ignore
from shared.errors import Conflict, FieldError, Forbidden, ValidationFailed
from shared.events.catalog import EventType
from shared.i18n import text
from shared.policy import Policy
from shared.policy_versions import PolicyVersion, published, row_of, stored_versions
from shared.uow import UnitOfWork


async def list_versions(uow: UnitOfWork) -> list[PolicyVersion]:
    """Every version, the shipped default first (from the table: the source of truth here)."""
    async with uow.read() as session:
        return [uow.runtime.policies.versions[0], *await stored_versions(session, policy_versions)]


def in_force(uow: UnitOfWork) -> PolicyVersion:
    return uow.runtime.policies.in_force(uow.now)


# --- the versions of the public reads (shared.conditional, D62) ---------------------------
async def versions_version(uow: UnitOfWork) -> tuple[object, ...]:
    """What ``/policy/versions`` depends on: its table's generation (one one-row read)."""
    return await read_generation_rows(uow.runtime.db.read_engine, read_generations, [POLICY_GENERATION])


def in_force_version(uow: UnitOfWork) -> tuple[object, ...]:
    """What ``/policy`` depends on: the version in force now (this process's; no read at all)."""
    return ("in_force", in_force(uow).version)


async def directory_version(uow: UnitOfWork) -> tuple[object, ...]:
    """What the directory depends on: its generation, and the policy in force (the starting
    score and grade, the capacity per engineer)."""
    generation = await read_generation_rows(uow.runtime.db.read_engine, read_generations, [DIRECTORY_GENERATION])
    return (*generation, in_force(uow).version)


async def publish(uow: UnitOfWork, *, effective_from: date, policy: Policy) -> PolicyVersion:
    principal = uow.principal
    if not (principal.is_admin or principal.is_city_bureau):
        raise Forbidden(
            text("只有市级应急管理局或管理员可发布实施方案", "Only the city bureau or an admin publishes the policy")
        )
    async with uow:
        latest = (await list_versions(uow))[-1]
        today = uow.clock.today()
        if effective_from < today:
            raise ValidationFailed(
                text("生效日期不能早于今天", "effective_from may not be in the past"),
                errors=[FieldError("effective_from", text("不能早于今天", "before today"))],
            )
        if latest.effective_from is not None and effective_from < latest.effective_from:
            raise ValidationFailed(
                text(
                    f"生效日期不能早于第 {latest.version} 版的生效日期 {latest.effective_from}",
                    f"effective_from may not be before version {latest.version}'s ({latest.effective_from})",
                ),
                errors=[FieldError("effective_from", text("早于最新版本", "before the latest version's"))],
            )
        version = PolicyVersion(
            version=latest.version + 1,
            effective_from=effective_from,
            published_at=uow.now,
            published_by=principal.actor,
            policy=policy,
        )
        if not await insert_ignore(uow.session, policy_versions, row_of(version)):
            raise Conflict(text("另一版本刚刚发布，请重试", "Another version was just published: try again"))
        await uow.emit(EventType.POLICY_PUBLISHED, published(version))
        await uow.audit(
            action="policy.published",
            entity_type="policy",
            entity_id=version.version,
            payload={"effective_from": effective_from.isoformat(), "policy_version": policy.policy_version},
        )
    uow.runtime.policies.add(version)  # this process enforces it at once; the others learn it from the bus
    return version
