"""Alembic environment of the notify service (its own metadata and version table)."""

from services.notify.models import metadata
from shared.migrations import run_env

run_env(metadata, service="notify")
