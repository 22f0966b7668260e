"""The registry's use cases (SPEC §7): keyword-only functions taking the unit of work, one
transaction each, no HTTP types; they return ORM rows or domain objects.

- ``filing``: create, read, list and edit a filing;
- ``documents``: upload and download its documents;
- ``engagements``: other work the agency declares for an enterprise (conflicts of interest);
- ``review``: its status changes (submit, review, suspend / reinstate / revoke, expire);
- ``directory``: the public directory, its CSV and a listed agency's public detail;
- ``history``: the public list's history, as JSON pages and an Atom feed;
- ``changes``: change filings (变更备案) and their review; ``roster``: what a change or a renewal
  rewrites and the roster's rules;
- ``compliance``: certificates that expired, the staffing minimums (the sweep);
- ``checks``: the automatic checks of a submission (pure rules).
"""

from services.registry.service.changes import file_change, list_changes, review_change
from services.registry.service.directory import count as count_directory
from services.registry.service.directory import detail as directory_detail
from services.registry.service.directory import export_rows as export_directory
from services.registry.service.directory import page as directory_page
from services.registry.service.documents import add_document, authorize_upload, document_for_download
from services.registry.service.engagements import declare, list_engagements
from services.registry.service.filing import count_agencies, create_agency, get_agency, list_agencies, update_agency
from services.registry.service.history import feed as directory_feed
from services.registry.service.history import page as directory_changes
from services.registry.service.review import expire, regulate, review, submit

__all__ = [
    "add_document",
    "authorize_upload",
    "count_agencies",
    "count_directory",
    "create_agency",
    "declare",
    "directory_changes",
    "directory_detail",
    "directory_feed",
    "directory_page",
    "document_for_download",
    "expire",
    "export_directory",
    "file_change",
    "get_agency",
    "list_agencies",
    "list_changes",
    "list_engagements",
    "regulate",
    "review",
    "review_change",
    "submit",
    "update_agency",
]
