"""Use cases of the enterprises service: each takes the unit of work and keyword arguments,
knows no HTTP, and returns ORM rows or domain objects.

- ``records``: one enterprise — register, read, look up by USCC, update, list, explain the risk,
  and its refresh when a contract or hazard event lands;
- ``imports``: the bulk import (any reader); ``csv_reader`` and ``xlsx_reader``: its readers;
  ``import_columns``: what headers and cells mean; ``import_template``: the empty template.
"""

from services.enterprises.service.csv_reader import CsvReader
from services.enterprises.service.import_template import Template, import_template
from services.enterprises.service.imports import ImportReport, import_records
from services.enterprises.service.records import (
    RiskExplanation,
    create_enterprise,
    explain_risk,
    get_by_uscc,
    get_enterprise,
    list_enterprises,
    refresh_enterprise,
    update_enterprise,
    validate_record,
)
from services.enterprises.service.xlsx_reader import XlsxReader

__all__ = [
    "CsvReader",
    "ImportReport",
    "RiskExplanation",
    "Template",
    "XlsxReader",
    "create_enterprise",
    "explain_risk",
    "get_by_uscc",
    "get_enterprise",
    "import_records",
    "import_template",
    "list_enterprises",
    "refresh_enterprise",
    "update_enterprise",
    "validate_record",
]
