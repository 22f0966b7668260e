"""Contracts service (SPEC §9): custody contracts from draft to signatures, filing and expiry.

The states, who may take each step and the event it emits: ``states`` (the ``CONTRACT`` machine).

Layout (the service template, docs/DEVELOPING.md): ``main`` (the ServiceSpec), ``api`` (routes),
``service/`` (the use cases: drafting, lifecycle, reading, cascades, schedule; the creation
``rules``; the parties' ``facts`` with the fallback to their services; ``steps`` shared by all),
``repository`` (every query; who may see and change what), ``models`` (tables, and the canonical
terms a signature covers), ``schemas`` (bodies), ``events`` (the payload), ``consumers`` (what
we apply), ``sweeps`` (the time-based steps), ``migrations/``.

Choices (docs/DECISIONS.md):
- Engineer capacity counts signed/filing/filed/active/suspended contracts of the agency; drafts
  do not (either party may draft) — capacity is checked again when a contract becomes signed.
- The overlap rule counts every live contract past draft (signed, filing, filed, active,
  suspended, rejected) and the drafts the enterprise has signed (SPEC §9 v2, D34): an
  agency's draft blocks nobody, and is left as it is when another contract claims the term.
- A signature names its terms: ``If-Match`` (the version read) or ``content_sha256`` (the hash of
  the terms read); neither 428, stale 412, nothing signed (D34).
- Events: contract.drafted on creation, contract.filing_submitted on submission (SPEC §9 v2),
  then one per status entered — contract.signed/filed/activated/rejected/suspended/terminated/
  expired; an amendment and a cancellation emit nothing; reinstatement emits the event of the
  state it returns to; contract.expiring once; contract.flagged on a risk flag set *or cleared*
  (``risk_flagged`` says which). Every payload carries ``agency_uscc``, ``drafted_by`` and
  ``enterprise_signed``.
- Audit trail: filing submitted, filing accepted/rejected, every termination.
- The agency counts as approved while ``filing_in_force`` (renewal, DECISIONS D11); a filing of a
  suspended agency is not accepted (422 agency_not_approved).
- Live contracts follow the enterprise's name and district (history note, no event).
- Filing numbers ``JM-HT-<year>-<nnnnnn>`` from a per-year counter in the accepting transaction.
- ``fee_yuan`` is a decimal with 2 places, serialised as a string.
"""
