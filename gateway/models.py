"""Tables of the gateway (its own metadata; see shared.db.service_base)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from shared.db import service_base
from shared.tables import infrastructure_tables

Base = service_base("gateway")
metadata = Base.metadata
infra = infrastructure_tables(metadata)  # the gateway uses the idempotency records (Idempotency-Key on its POSTs)

TS = sa.DateTime(timezone=True)


class Account(Base, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = Field(primary_key=True)
    username: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    password_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    district: str | None = Field(default=None, sa_column=sa.Column(sa.String(12)))
    org_uscc: str | None = Field(default=None, sa_column=sa.Column(sa.String(18)))
    display_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    disabled: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))

    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'bureau', 'agency', 'enterprise')", name="role"),
    )


class Client(Base, table=True):
    __tablename__ = "clients"

    client_id: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    secret_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))  # None: a public client
    account_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(
        sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True))
    grant_types: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    redirect_uris: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    scopes: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class AuthorizationCode(Base, table=True):
    __tablename__ = "authorization_codes"

    code_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    client_id: str = Field(sa_column=sa.Column(sa.String(80), sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
                                               nullable=False))
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                                                      nullable=False))
    redirect_uri: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    code_challenge: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))


class RefreshToken(Base, table=True):
    __tablename__ = "refresh_tokens"

    token_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    family_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    client_id: str = Field(sa_column=sa.Column(sa.String(80), sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
                                               nullable=False))
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                                                      nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(TS, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))  # rotated: replaced by a newer token
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))
    # the access token issued with this refresh token: revoked with the family
    access_jti: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    access_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(TS))


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

    __table_args__ = (sa.CheckConstraint("origin IN ('development', 'generated', 'file')", name="origin"),)
