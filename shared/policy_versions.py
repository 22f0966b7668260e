"""The policy as a published document with versions (SPEC §3, §22; docs/DECISIONS.md
D56).

Version 1 is the shipped default (``shared.policy.load_policy``: the defaults and
``CUSTODY_POLICY_FILE``), in force from the beginning (``effective_from`` null). The registry
publishes later versions (``POST /api/v1/policy/versions``) and emits ``policy.published`` with the
whole document; every service keeps the versions it received in its own ``policy_versions`` table
(``versions_table`` in its models, the shared consumer ``keep_versions`` in its consumers) and in a
``PolicyBook`` in memory, so ``uow.policy`` resolves the version in force at the clock's now
without a database read per request. A version whose ``effective_from`` arrives takes over at the
next call, without a restart.

A day is the clock's (UTC) date, as everywhere else (``clock.today()``). A sweep run with
``as_of`` uses the version in force at ``as_of`` (``policy_as_of``, set by ``Runtime.sweep``).
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import as_utc
from shared.db import insert_ignore
from shared.events.catalog import PolicyPublished
from shared.events.envelope import CloudEvent
from shared.policy import Policy, load_policy
from shared.tables import JSONB

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

VERSIONS_TABLE = "policy_versions"
FIRST_VERSION = 1

_moment: ContextVar[datetime | None] = ContextVar("policy_moment", default=None)


class PolicyVersion(BaseModel):
    """One published version: its number, from when it is in force, who published it, the document."""

    model_config = ConfigDict(frozen=True)

    version: int
    effective_from: date | None  # None: the shipped default, in force from the beginning
    published_at: datetime | None
    published_by: str | None
    policy: Policy

    def in_force_on(self, day: date) -> bool:
        return self.effective_from is None or self.effective_from <= day


class PolicyBook:
    """Every version this process knows, sorted by number (effective dates never go back, so also
    by date): the version in force on a day is the last one whose ``effective_from`` has come."""

    def __init__(self, default: Policy) -> None:
        self._versions = [
            PolicyVersion(
                version=FIRST_VERSION, effective_from=None, published_at=None, published_by=None, policy=default
            )
        ]
        self._numbers = [FIRST_VERSION]

    @property
    def versions(self) -> tuple[PolicyVersion, ...]:
        return tuple(self._versions)

    @property
    def latest(self) -> PolicyVersion:
        return self._versions[-1]

    def add(self, version: PolicyVersion) -> None:
        """Remember a version (a repeat is ignored: versions are immutable once published)."""
        at = bisect.bisect_left(self._numbers, version.version)
        if at < len(self._numbers) and self._numbers[at] == version.version:
            return
        self._numbers.insert(at, version.version)
        self._versions.insert(at, version)

    def in_force(self, moment: datetime) -> PolicyVersion:
        day = moment.date()
        for version in reversed(self._versions):
            if version.in_force_on(day):
                return version
        return self._versions[0]

    async def load(self, session: AsyncSession, table: sa.Table) -> None:
        """Every version the service's table holds (at start, and on each sweep for replicas)."""
        for version in await stored_versions(session, table):
            self.add(version)


@contextmanager
def policy_as_of(moment: datetime) -> Iterator[None]:
    """Within this block ``runtime.policy`` is the version in force at ``moment`` (a sweep's as_of)."""
    token = _moment.set(moment)
    try:
        yield
    finally:
        _moment.reset(token)


def policy_moment(now: datetime) -> datetime:
    """The moment whose policy applies: a sweep's ``as_of`` if one runs, else ``now``."""
    return _moment.get() or now


def versions_table(metadata: sa.MetaData) -> sa.Table:
    """The versions a service received (added to its own metadata, so in its migrations)."""
    known: sa.Table | None = metadata.info.get(VERSIONS_TABLE)
    if known is not None:
        return known
    ts = sa.DateTime(timezone=True)
    table = sa.Table(
        VERSIONS_TABLE,
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("published_at", ts, nullable=False),
        sa.Column("published_by", sa.String(100)),
        sa.Column("document", JSONB, nullable=False),
    )
    metadata.info[VERSIONS_TABLE] = table
    return table


async def stored_versions(session: AsyncSession, table: sa.Table) -> list[PolicyVersion]:
    """The versions a service's table holds (those published after the default), in order."""
    rows = (await session.execute(sa.select(table).order_by(table.c.version))).mappings()
    return [version_of(row) for row in rows]


def version_of(row: Any) -> PolicyVersion:
    return PolicyVersion(
        version=row["version"],
        effective_from=row["effective_from"],
        published_at=as_utc(row["published_at"]),
        published_by=row["published_by"],
        policy=Policy.model_validate(row["document"]),
    )


def row_of(version: PolicyVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "effective_from": version.effective_from,
        "published_at": version.published_at,
        "published_by": version.published_by,
        "document": version.policy.model_dump(mode="json"),
    }


def published(version: PolicyVersion) -> PolicyPublished:
    """The ``policy.published`` payload: the whole document (``id`` is the version number)."""
    assert version.effective_from is not None
    assert version.published_at is not None
    return PolicyPublished(
        id=str(version.version),
        policy_version=version.policy.policy_version,
        effective_from=version.effective_from,
        version=version.version,
        published_at=version.published_at,
        published_by=version.published_by,
        policy=version.policy.model_dump(mode="json"),
    )


def keep_versions(table: sa.Table) -> Callable[[UnitOfWork, CloudEvent], Awaitable[None]]:
    """The consumer of ``policy.published`` every service registers: the version is stored (a
    redelivery inserts nothing) and added to the process's book at once."""

    async def keep(uow: UnitOfWork, event: CloudEvent) -> None:
        data = PolicyPublished.model_validate(event.data)
        version = PolicyVersion(
            version=data.version,
            effective_from=data.effective_from,
            published_at=data.published_at,
            published_by=data.published_by,
            policy=Policy.model_validate(data.policy),
        )
        await insert_ignore(uow.session, table, row_of(version))
        uow.runtime.policies.add(version)  # a rolled-back insert is redelivered; the version is the same

    return keep


# --- the documents as the API shows and takes them -------------------------------------------------
class PolicyInForce(Policy):
    """``GET /api/v1/policy``: the document in force, with its ``version`` and ``effective_from``."""

    version: int
    effective_from: date | None

    @classmethod
    def of(cls, version: PolicyVersion) -> PolicyInForce:
        return cls.model_validate(
            {**version.policy.model_dump(), "version": version.version, "effective_from": version.effective_from}
        )


LISTING_FIELDS = ("version", "effective_from")  # what GET /api/v1/policy adds to the document


class PolicyDocumentIn(Policy):
    """The whole document, as ``GET /api/v1/policy`` returns it: the listing's ``version`` and
    ``effective_from`` may be left in and are ignored (the version is numbered on publication, its
    date is the request's ``effective_from``)."""

    @model_validator(mode="before")
    @classmethod
    def _without_listing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in LISTING_FIELDS}
        return data


class PolicyVersionIn(BaseModel):
    """``POST /api/v1/policy/versions``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"effective_from": "2027-01-01", "policy": load_policy().model_dump(mode="json")}]
        },
    )

    effective_from: date
    policy: PolicyDocumentIn
