"""Alembic environment of the notify service (its own metadata and version table)."""
from shared.migrations import run_env
from services.notify.models import metadata

run_env(metadata, service="notify")
