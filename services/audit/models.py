"""Tables of the audit service (its own metadata; see shared.db.service_base)."""

from __future__ import annotations

from shared.db import service_base
from shared.tables import infrastructure_tables

Base = service_base("audit")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
