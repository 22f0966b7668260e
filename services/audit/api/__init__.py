"""The audit service's routes, one module per area (the same names as ``service/`` and
``repository/``): parse, call one use case, declare the response model and the errors."""

from services.audit.api import (
    accidents,
    attachments,
    audits,
    complaints,
    compliance,
    credit,
    efile,
    hazards,
    listings,
    reports,
    servicelogs,
    supervision,
)

ROUTERS = (
    servicelogs.router,
    hazards.router,
    compliance.router,
    audits.router,
    complaints.router,
    credit.router,
    supervision.router,
    attachments.router,
    listings.router,
    reports.router,
    accidents.router,
    efile.router,
)
