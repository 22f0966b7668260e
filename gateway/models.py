"""Tables of the gateway (its own metadata; see shared.db.service_base)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db import service_base
from shared.tables import infrastructure_tables

if TYPE_CHECKING:  # service_base builds the class at run time; type checkers see what it is

    class Base(SQLModel):
        __table__: ClassVar[sa.Table]

else:
    Base = service_base("gateway")
metadata = Base.metadata
infra = infrastructure_tables(metadata)  # the gateway uses the idempotency records (Idempotency-Key on its POSTs)

TS = sa.DateTime(timezone=True)


ORG_KINDS = ("agency", "enterprise")
ORG_STATUSES = ("pending", "verified", "rejected", "suspended")


def username_key(username: str) -> str:
    """The case-insensitive identity of a username (its unique index; usernames are ASCII)."""
    return username.strip().lower()


class Account(Base, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = Field(primary_key=True)
    username: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    # lower(username), unique: two usernames differing only in case cannot both exist (SPEC §14,
    # on both backends, enforced by the index rather than a check-then-insert)
    username_key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    district: str | None = Field(default=None, sa_column=sa.Column(sa.String(12)))
    org_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18), index=True))  # its organisation
    display_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    disabled: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    disabled_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    disabled_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # who invited this account into its organisation (a reassignment removes the old admin's invitees)
    invited_by: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    password_changed_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # how notify reaches the person (SPEC §15): an address for e-mail, the language of its notices
    # (None: the platform's, zh-CN); both set with PATCH /api/v1/me
    email: str | None = Field(default=None, sa_column=sa.Column(sa.String(254)))
    language: str | None = Field(default=None, sa_column=sa.Column(sa.String(10)))
    # grows with every change announced on the bus (account.*) and is the ETag of /api/v1/me; 0 on
    # rows from before the announcements: the gateway announces those once at start (accounts.py)
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))

    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'bureau', 'agency', 'enterprise')", name="role"),
        # a unique index (not a table constraint): added to an existing table without rebuilding it
        sa.Index("uq_accounts_username_key", "username_key", unique=True),
    )


class Organisation(Base, table=True):
    """A USCC known to the gateway (SPEC §14); accounts act for it only once it is verified."""

    __tablename__ = "organisations"

    uscc: str = Field(sa_column=sa.Column(sa.String(18), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    district: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    admin_account_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    )
    verified_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    decided_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))

    __table_args__ = (
        sa.CheckConstraint("kind IN ('agency', 'enterprise')", name="kind"),
        sa.CheckConstraint("status IN ('pending', 'verified', 'rejected', 'suspended')", name="status"),
        sa.Index("ix_organisations_status_district", "status", "district"),
    )


class Invitation(Base, table=True):
    """A single-use code (stored as its SHA-256) that lets one more account join an organisation."""

    __tablename__ = "invitations"

    code_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    org_uscc: str = Field(
        sa_column=sa.Column(
            sa.String(18), sa.ForeignKey("organisations.uscc", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_by: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    used_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    )


class TokenCutoff(Base, table=True):
    """Access tokens of a subject (account) or client issued before ``not_before`` are revoked
    (an account disabled, a client deleted, an organisation suspended or reassigned). Kept while a
    token it concerns may still be alive; published on the bus as ``token.revoked``."""

    __tablename__ = "token_cutoffs"

    kind: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))  # subject | client
    value: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    not_before: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    forget_at: datetime = Field(sa_column=sa.Column(TS, nullable=False, index=True))

    __table_args__ = (sa.CheckConstraint("kind IN ('subject', 'client')", name="kind"),)


class Client(Base, table=True):
    __tablename__ = "clients"

    client_id: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    secret_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))  # None: a public client
    account_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    )
    grant_types: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    redirect_uris: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    scopes: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class AuthorizationCode(Base, table=True):
    __tablename__ = "authorization_codes"

    code_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    client_id: str = Field(
        sa_column=sa.Column(sa.String(80), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False)
    )
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    )
    redirect_uri: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    code_challenge: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class RefreshToken(Base, table=True):
    __tablename__ = "refresh_tokens"

    token_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    family_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    client_id: str = Field(
        sa_column=sa.Column(sa.String(80), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False)
    )
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    )
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))  # rotated: replaced by a newer token
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # the access token issued with this refresh token: revoked with the family
    access_jti: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    access_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # The token response that replaced this token, encrypted with a key derived from this token
    # itself: a second refresh of it by the same client within the grace window gets the same
    # new pair (a double-click must not revoke the family); nobody without the token can read it.
    successor: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class RevokedToken(Base, table=True):
    """Access tokens (by ``jti``) revoked before they expire."""

    __tablename__ = "revoked_tokens"

    jti: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False, index=True))
    revoked_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class SigningKey(Base, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    private_jwk: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    origin: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))  # development | generated | file
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    retired_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))  # out of the JWKS at once

    __table_args__ = (sa.CheckConstraint("origin IN ('development', 'generated', 'file')", name="origin"),)
