"""Platform settings, read from the environment with the ``CUSTODY_`` prefix.

Settings are built explicitly (``Settings()``) by each process's entry point and handed to the
app factory; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("registry", "enterprises", "contracts", "audit", "notify")
DEFAULT_PORTS = {
    "gateway": 8000,
    "registry": 8001,
    "enterprises": 8002,
    "contracts": 8003,
    "audit": 8004,
    "notify": 8005,
    "portal": 8006,
}

DEV_ADMIN_CLIENT_ID = "custody-admin"
DEV_ADMIN_CLIENT_SECRET = "custody-dev-secret-change-me"
# Encrypts the gateway's private signing keys at rest outside production when no key is set
# (the same code path everywhere); production refuses to start without a key of its own.
DEV_KEY_ENCRYPTION_KEY = "custody-dev-key-encryption-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTODY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    data_dir: Path = Path("var")

    # Databases: a PostgreSQL base URL gives each service its own database custody_<service>;
    # a per-service URL overrides it; with neither, SQLite files under data_dir.
    database_url: str | None = None
    gateway_database_url: str | None = None
    registry_database_url: str | None = None
    enterprises_database_url: str | None = None
    contracts_database_url: str | None = None
    audit_database_url: str | None = None
    notify_database_url: str | None = None
    # Connections per process (PostgreSQL): pool + overflow. The budget: every replica of every
    # service and the gateway together must stay below the server's max_connections
    # (docs/OPERATIONS.md; tests/deploy checks compose against PostgreSQL's default of 100).
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    # Tests start thousands of empty databases: with this on, a new empty database starts as a copy
    # of one already migrated to the same head (shared.schema_templates) instead of replaying every
    # migration. Off in production, where a database is created once.
    schema_templates: bool = False

    # Event bus
    nats_url: str | None = None
    embedded_nats_port: int = 14222
    stream_name: str = "CUSTODY"
    subject_prefix: str = "custody"
    stream_replicas: int = 1
    max_deliver: int = 8
    relay_poll_seconds: float = 1.0
    # An event delivered and not acknowledged (its consumer crashed) comes again after this.
    inbox_ack_wait_seconds: float = Field(default=30.0, gt=0)
    # Bounded storage (shared.purge): events leave the stream after stream_max_age_days (dead
    # letters stay); an inbox id is kept longer than any copy of its event can still arrive.
    stream_max_age_days: float = Field(default=7.0, gt=0)
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    inbox_retention_days: float = Field(default=14.0, gt=0)
    idempotency_retention_hours: float = Field(default=24.0, gt=0)

    # Ports and peer URLs
    gateway_port: int = DEFAULT_PORTS["gateway"]
    registry_port: int = DEFAULT_PORTS["registry"]
    enterprises_port: int = DEFAULT_PORTS["enterprises"]
    contracts_port: int = DEFAULT_PORTS["contracts"]
    audit_port: int = DEFAULT_PORTS["audit"]
    notify_port: int = DEFAULT_PORTS["notify"]
    portal_port: int = DEFAULT_PORTS["portal"]  # the work portal (portal/), reached through the gateway
    gateway_url: str | None = None
    registry_url: str | None = None
    enterprises_url: str | None = None
    contracts_url: str | None = None
    audit_url: str | None = None
    notify_url: str | None = None
    portal_url: str | None = None
    peer_timeout_seconds: float = 2.0

    # Auth
    issuer: str | None = None
    jwks_url: str | None = None
    audience: str = "custody-api"
    admin_client_id: str | None = None
    admin_client_secret: str | None = None
    signing_key_file: Path | None = None
    access_token_ttl_seconds: int = 900
    # The portal's session cookie key (AES via Fernet); unset: derived from the admin client secret.
    portal_session_secret: str | None = None
    # Gateway limits: login and token attempts per window (per account and per client address);
    # proxied requests per client (token bucket; 0 turns it off); upstream read timeout.
    auth_rate_limit: int = 10
    auth_rate_window_seconds: float = 60.0
    proxy_rate_per_second: float = 100.0
    proxy_rate_burst: int = 200
    proxy_read_timeout_seconds: float = 30.0
    # Identity (SPEC §14): sign-ups per client address per window; how many Argon2 hashes run at
    # once (the rest wait: logins and token refreshes keep their latency under a sign-up flood);
    # how long a refresh racing another of the same token gets the same new pair.
    signup_rate_limit: int = 5
    signup_rate_window_seconds: float = 3600.0
    password_hash_concurrency: int = 1
    refresh_grace_seconds: float = 5.0
    # Client addresses: X-Forwarded-For is believed only from these proxies (comma-separated
    # addresses or CIDR networks), e.g. the TLS terminator in front of the gateway.
    trusted_proxies: str = "127.0.0.1,::1"
    # Private signing keys are encrypted at rest with this secret (comma-separated: the first
    # encrypts, every one decrypts, so the secret can be rotated); required in production.
    key_encryption_key: str | None = None
    # Services refresh the gateway's JWKS this often (and at once on a key event on the bus).
    jwks_refresh_seconds: float = 60.0

    # Notifications (services/notify, SPEC §15). E-mail is off without an SMTP URL:
    # smtp://[user:password@]host[:port] (STARTTLS when the server offers it), smtps:// for TLS.
    smtp_url: str | None = None
    smtp_from: str = "安全生产托管平台 <noreply@custody.invalid>"
    # Webhook deliveries: per-attempt timeout; retries back off from ``first`` to ``cap`` seconds
    # (exponential, with jitter) until ``horizon`` seconds after the first attempt, then the
    # subscription is marked failing; deliveries in flight at once, per subscription and in all.
    webhook_timeout_seconds: float = 10.0
    webhook_retry_first_seconds: float = 5.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_retry_horizon_seconds: float = 86400.0
    webhook_concurrency_per_subscription: int = 2
    webhook_concurrency: int = 64

    # Attachments (SPEC §16): the content store (unset: <data_dir>/attachments) and each
    # organisation's quota in bytes (default 2 GiB).
    attachments_dir: Path | None = None
    attachment_quota_bytes: int = Field(default=2 * 1024**3, ge=0)

    # Domain data
    policy_file: Path | None = None
    jurisdiction_file: Path | None = None

    # Operations
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    sweep_interval_seconds: float = 3600.0
    # Tracing (shared.tracing): OTLP/HTTP collector base URL, e.g. http://tempo:4318; off when unset.
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = Field(default=0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.access_token_ttl_seconds > 900:
            raise ValueError("access tokens live at most 15 minutes (CUSTODY_ACCESS_TOKEN_TTL_SECONDS <= 900)")
        if self.password_hash_concurrency < 1:
            raise ValueError("CUSTODY_PASSWORD_HASH_CONCURRENCY must be at least 1")
        if self.stream_replicas < 1:
            raise ValueError("CUSTODY_STREAM_REPLICAS must be at least 1")
        if self.inbox_retention_days < self.stream_max_age_days:
            # a consumer re-created from the stream's start would see events whose ids are gone
            raise ValueError("CUSTODY_INBOX_RETENTION_DAYS must be at least CUSTODY_STREAM_MAX_AGE_DAYS")
        return self

    # --- derived values -------------------------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def port_of(self, name: str) -> int:
        return int(getattr(self, f"{name}_port"))

    def url_of(self, name: str) -> str:
        explicit = getattr(self, f"{name}_url")
        return (explicit or f"http://{self.host}:{self.port_of(name)}").rstrip("/")

    @property
    def issuer_url(self) -> str:
        return (self.issuer or self.url_of("gateway")).rstrip("/")

    @property
    def jwks_location(self) -> str:
        return self.jwks_url or f"{self.url_of('gateway')}/.well-known/jwks.json"

    @property
    def nats_servers(self) -> list[str]:
        raw = self.nats_url or f"nats://127.0.0.1:{self.embedded_nats_port}"
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def uses_embedded_nats(self) -> bool:
        return not self.nats_url

    @property
    def attachments_root(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    def subject_for(self, event_type: str) -> str:
        return f"{self.subject_prefix}.{event_type}"

    def database_url_for(self, service: str) -> str:
        """The SQLAlchemy async URL of one service's own database."""
        explicit = getattr(self, f"{service}_database_url", None)
        if explicit:
            return to_async_url(explicit)
        if self.database_url:
            return to_async_url(_with_database(self.database_url, service))
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').as_posix()}"


def to_async_url(url: str) -> str:
    for plain in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def _with_database(base_url: str, service: str) -> str:
    """``postgresql://h/custody`` -> ``postgresql://h/custody_<service>``."""
    parts = urlsplit(base_url)
    base_name = parts.path.lstrip("/") or "custody"
    return urlunsplit(parts._replace(path=f"/{base_name}_{service}"))
