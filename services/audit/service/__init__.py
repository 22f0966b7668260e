"""The audit service's use cases, one module per area (the same names as ``api/`` and
``repository/``): keyword-only functions taking the unit of work, returning ORM rows or domain
objects, knowing no HTTP."""

from services.audit.repository import Listing  # what a list use case returns
from services.audit.service.audits import draw_sample, get_audit_task, get_sample, list_audit_tasks, record_result
from services.audit.service.complaints import (
    export_complaints,
    flag_overdue_complaints,
    forward_complaint,
    get_complaint,
    list_complaints,
    resolve_complaint,
    respond_to_complaint,
    submit_complaint,
    track_complaint,
)
from services.audit.service.compliance import compliance_of, count_missed_visits, district_summary
from services.audit.service.credit import add_credit_record, credit_file, record_credit
from services.audit.service.disputes import dispute_service_log, resolve_dispute
from services.audit.service.ecredit import enterprise_credit_file, record_dispute_upheld
from services.audit.service.hazards import (
    export_hazards,
    get_hazard,
    list_hazards,
    mark_overdue_hazards,
    rectify_hazard,
    reject_rectification,
    verify_hazard,
)
from services.audit.service.listings import (
    decide_listing,
    get_listing,
    list_listings,
    notice_listing,
    object_to_listing,
    request_listing_repair,
    sweep_listings,
)
from services.audit.service.servicelogs import (
    confirm_service_log,
    get_service_log,
    list_service_logs,
    record_service_log,
)

__all__ = [
    "Listing",
    "add_credit_record",
    "compliance_of",
    "confirm_service_log",
    "count_missed_visits",
    "credit_file",
    "decide_listing",
    "dispute_service_log",
    "district_summary",
    "draw_sample",
    "enterprise_credit_file",
    "export_complaints",
    "export_hazards",
    "flag_overdue_complaints",
    "forward_complaint",
    "get_audit_task",
    "get_complaint",
    "get_hazard",
    "get_listing",
    "get_sample",
    "get_service_log",
    "list_audit_tasks",
    "list_complaints",
    "list_hazards",
    "list_listings",
    "list_service_logs",
    "mark_overdue_hazards",
    "notice_listing",
    "object_to_listing",
    "record_credit",
    "record_dispute_upheld",
    "record_result",
    "record_service_log",
    "rectify_hazard",
    "reject_rectification",
    "request_listing_repair",
    "resolve_complaint",
    "resolve_dispute",
    "respond_to_complaint",
    "submit_complaint",
    "sweep_listings",
    "track_complaint",
    "verify_hazard",
]
