"""Alembic environment of the audit service (its own metadata and version table)."""

from services.audit.models import metadata
from shared.migrations import run_env

run_env(metadata, service="audit")
