"""Alembic environment of the gateway service (its own metadata and version table)."""

from gateway.models import metadata
from shared.migrations import run_env

run_env(metadata, service="gateway")
