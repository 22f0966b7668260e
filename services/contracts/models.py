"""Tables of the contracts service (its own metadata; see shared.db.service_base)."""

from __future__ import annotations

from shared.db import service_base
from shared.tables import infrastructure_tables

Base = service_base("contracts")
metadata = Base.metadata
infra = infrastructure_tables(metadata)
