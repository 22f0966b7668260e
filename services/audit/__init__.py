"""The audit service (SPEC §10): service logs, the hazard loop, compliance, quality audits,
complaints and each agency's credit file.

Layout (docs/DEVELOPING.md, the service template): ``main.py`` declares the service;
``api/`` (routes) → ``service/`` (use cases on the unit of work) → ``repository/`` (every query, and
who may see or change which row), one module per area with the same name in each — servicelogs,
hazards, compliance, audits, complaints, credit; ``repository/readmodels.py`` holds the contracts,
agencies and enterprises that ``consumers.py`` keeps from their events. ``states.py`` declares the
four state machines, ``events.py`` the payloads, ``sweeps.py`` the time-based steps. The sampling
recipe and the credit arithmetic are pure functions in ``service/audits.py`` and ``service/credit.py``.

Choices worth knowing (also reported for docs/DECISIONS.md):

- An agency token carries only ``org_uscc``: it stands for the agency ids that the agencies read
  model holds for that USCC. Until the agency's first event arrives, the agency owns nothing here.
- The same visit (contract, visit date, engineer, items, summary) recorded twice without an
  ``Idempotency-Key`` is 409 ``duplicate_service_log`` with ``existing_id``; with the key, the
  middleware replays the first 201.
- Every hazard emits ``hazard.reported`` when recorded (not only major ones), with its ``level``.
- Overdue hazards stay closable: rectify from ``open|overdue``; verify from ``rectified``, or from
  ``overdue`` when it had been rectified before it went overdue. Verification after the deadline
  is ``verified_late`` (credit −1).
- Missed visits: one ``visit.missed`` per newly missed visit (as the catalog says), ``missed`` =
  that item's count including it, ``version`` = the same; one credit record (−2) per missed visit,
  ref ``contract:item#n``.
  Counted visits never come back (a late visit does not undo a missed one).
- Quality audits: one sample per period and scope (a district, or the city); a second request
  gets 409 ``sample_exists`` so nobody can redraw with other seeds. A contract already under audit
  in the period gets no second task. Agencies never see a pending task (listed or in detail): they
  would know which client is about to be audited; they see it once completed.
- Complaints: the agency sees a complaint only once forwarded, and never the complainant's phone
  (nor the USCC of an anonymous one). The bureau may resolve from ``received``, ``forwarded`` or
  ``responded``. Overdue flags are sticky (a late response stays marked late).
- An anonymous complaint's answer carries a ``tracking_code`` (shown once, stored as a SHA-256);
  ``POST /api/v1/complaints/track {id, tracking_code}`` shows progress and outcome, not people
  (same 404 for an unknown id and a wrong code).
- Additions beyond the SPEC: ``GET /api/v1/hazards/{id}``, ``GET /api/v1/audits/{id}``,
  ``GET /api/v1/audits/samples/{id}`` (the sample log), ``GET /api/v1/compliance/summary`` (counts by
  district for the bureau dashboard), CSV export of the hazard and complaint lists with
  ``Accept: text/csv``.
- Credit: records apply in order, the score clamped to ``[0, cap]`` after each (a bonus earned at
  the cap is not banked). The credit file is readable by any signed-in principal.
"""
