"""Tables of the notify service (its own metadata; see shared.db.service_base).

Read models, fed by events and never written by the API — what notify needs to address people:

- ``accounts``: every account (gateway ``account.*`` events): who is a member of which
  organisation, which bureau account governs which district, their e-mail and language.
- ``agencies``: agency id → USCC, its filing's ``valid_until`` and engineers' certificates
  (``agency.*``), for addressing agencies by id and for the expiry reminders.
- ``contracts``: contract id → parties and district (``contract.*``), for events that name only
  the contract.
- ``hazards`` and ``complaints``: deadlines for the reminders.

Its own state: ``inbox_items`` (one per recipient account and event or reminder), ``reminders``
(the unique key of each reminder sent, and of each daily digest), ``subscriptions`` (webhooks) and
``deliveries`` (one row per delivery attempt). The pending deliveries themselves are messages on
the JetStream work queue (workqueue.py), not rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db import check_in, service_base
from shared.policy_versions import versions_table
from shared.roles import TOKEN_ROLES
from shared.tables import infrastructure_tables

if TYPE_CHECKING:  # service_base builds the class at run time; type checkers see what it is
    Base = SQLModel
else:
    Base = service_base("notify")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
policy_versions = versions_table(metadata)  # the policy's versions it received (shared.policy_versions)

TS = sa.DateTime(timezone=True)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    REMOVED = "removed"


class Language(StrEnum):
    ZH = "zh-CN"
    EN = "en"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


# --- read models ------------------------------------------------------------------------------
class Account(Base, table=True):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint(check_in("role", sorted(TOKEN_ROLES)), name="role"),
        sa.CheckConstraint(check_in("status", AccountStatus), name="status"),
        sa.CheckConstraint(check_in("language", Language), name="language"),
        sa.Index("ix_accounts_org_uscc_status", "org_uscc", "status"),
        sa.Index("ix_accounts_role_district", "role", "district"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    username: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    org_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18), nullable=True))
    district: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), nullable=True))
    email: str | None = Field(default=None, sa_column=sa.Column(sa.String(254), nullable=True))
    language: str = Field(default=Language.ZH, sa_column=sa.Column(sa.String(10), nullable=False))
    display_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class Agency(Base, table=True):
    __tablename__ = "agencies"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    engineer_certificates: list[dict[str, Any]] = _json_list()
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


class Contract(Base, table=True):
    __tablename__ = "contracts"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    agency_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    agency_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18), nullable=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


class Hazard(Base, table=True):
    __tablename__ = "hazards"
    __table_args__ = (sa.Index("ix_hazards_status_deadline", "status", "deadline"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    enterprise_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    agency_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    district_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    level: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    deadline: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


class Complaint(Base, table=True):
    __tablename__ = "complaints"
    __table_args__ = (sa.Index("ix_complaints_status_response_due", "status", "response_due"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    agency_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    district_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    response_due: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


# --- the inbox --------------------------------------------------------------------------------
class InboxItem(Base, table=True):
    __tablename__ = "inbox_items"
    __table_args__ = (
        # One item per recipient and event (or reminder): a redelivered event, a replica racing
        # another or a re-run sweep adds nothing.
        sa.UniqueConstraint("account_id", "source_key", name="uq_inbox_items_account_source"),
        sa.Index("ix_inbox_items_account_id_id", "account_id", "id"),
        sa.Index("ix_inbox_items_account_unread", "account_id", "read_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    account_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(60), nullable=False))
    urgent: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    title_zh: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    title_en: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    body_zh: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body_en: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    link: str | None = Field(default=None, sa_column=sa.Column(sa.String(300), nullable=True))
    subject_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    source_key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(TS, nullable=True))
    read_at: datetime | None = Field(default=None, sa_column=sa.Column(TS, nullable=True))
    # Set when the item was handed to e-mail (at once if urgent, else in a daily digest).
    emailed_at: datetime | None = Field(default=None, sa_column=sa.Column(TS, nullable=True))


class Reminder(Base, table=True):
    """The key of every reminder (and digest) already sent: inserted in the transaction that
    writes its inbox items, so it is sent once whatever replica or re-run tries again."""

    __tablename__ = "reminders"

    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(60), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


# --- webhooks ---------------------------------------------------------------------------------
class Subscription(Base, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", SubscriptionStatus), name="status"),
        sa.CheckConstraint(check_in("owner_role", sorted(TOKEN_ROLES)), name="owner_role"),
    )

    id: uuid.UUID = Field(primary_key=True)
    owner_account_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    owner_role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    owner_org_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18), nullable=True, index=True))
    owner_district: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), nullable=True))
    url: str = Field(sa_column=sa.Column(sa.String(2000), nullable=False))
    events: list[str] = _json_list()
    description: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    # The signing key (whsec_…): needed to sign every delivery, so kept as is; shown once.
    secret: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class Delivery(Base, table=True):
    """One delivery attempt of one event to one subscription."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_subscription_id_id", "subscription_id", "id"),)

    id: uuid.UUID = Field(primary_key=True)
    subscription_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    event_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    attempt: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=sa.Column(TS, nullable=True))
    # The CloudEvent delivered (a manual retry publishes it again).
    envelope: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


accounts: sa.Table = Account.__table__  # type: ignore[attr-defined]
agencies: sa.Table = Agency.__table__  # type: ignore[attr-defined]
contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]
hazards: sa.Table = Hazard.__table__  # type: ignore[attr-defined]
complaints: sa.Table = Complaint.__table__  # type: ignore[attr-defined]
inbox_items: sa.Table = InboxItem.__table__  # type: ignore[attr-defined]
reminders: sa.Table = Reminder.__table__  # type: ignore[attr-defined]
subscriptions: sa.Table = Subscription.__table__  # type: ignore[attr-defined]
deliveries: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
