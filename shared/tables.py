"""Infrastructure tables that every service keeps in its own database: the outbox, the inbox,
idempotency records, dead letters and the hash-chained audit trail.

They are SQLAlchemy Core tables added to the service's own metadata, so they appear in the
service's migrations like its domain tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # an INTEGER PRIMARY KEY is SQLite's rowid
JSONB = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


@dataclass(frozen=True)
class InfraTables:
    outbox: sa.Table
    inbox: sa.Table
    idempotency: sa.Table
    dead_letters: sa.Table
    audit_trail: sa.Table


def infrastructure_tables(metadata: sa.MetaData) -> InfraTables:
    known: InfraTables | None = metadata.info.get("infra")
    if known is not None:
        return known
    ts = sa.DateTime(timezone=True)
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid, nullable=False, unique=True),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("request_id", sa.String(100)),
        sa.Column("traceparent", sa.String(55)),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("claimed_until", ts),
        sa.Column("published_at", ts),
        sa.Index("ix_outbox_pending", "published_at", "seq"),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("processed_at", ts, nullable=False),
    )
    idempotency = sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response_headers", sa.JSON),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("created_at", ts, nullable=False),
    )
    dead_letters = sa.Table(
        "dead_letters",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(80), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("envelope", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("replayed_at", ts),
        sa.Column("replay_error", sa.Text),
        sa.UniqueConstraint("consumer", "event_id", name="uq_dead_letters_consumer_event"),
    )
    audit_trail = sa.Table(
        "audit_trail",
        metadata,
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", ts, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    infra = InfraTables(outbox, inbox, idempotency, dead_letters, audit_trail)
    metadata.info["infra"] = infra
    return infra
