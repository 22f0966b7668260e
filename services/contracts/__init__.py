"""Contracts service (SPEC §9): custody contracts from draft to signatures, filing and expiry.

States: draft → signed → filing → filed → active → expired | terminated; filing → rejected
(PATCH amends it back to draft); draft → cancelled; filed | active | suspended → terminated;
filed | active → suspended (agency suspended) → back on reinstatement, terminated on revocation;
a suspended contract whose term ran out expires by sweep.

Layout: ``models`` (tables), ``schemas`` (bodies), ``rules`` (creation rules, pure),
``signatures`` (canonical terms + SHA-256), ``readmodels`` (agency/enterprise facts from events,
httpx fallback), ``service/`` (core, drafting, lifecycle), ``events`` (what we emit),
``consumers`` (cascades), ``sweeps`` (activation, expiring, expiry), ``api``, ``main``.

Choices (to be recorded in docs/DECISIONS.md):
- Engineer capacity counts signed/filing/filed/active/suspended contracts of the agency; drafts
  do not (either party may draft) — capacity is checked again when a contract becomes signed.
- The overlap rule counts every non-final contract (draft, signed, filing, filed, active,
  suspended, rejected).
- Events: one per status entered — contract.signed/filed/activated/rejected/suspended/
  terminated/expired; draft, filing and cancelled emit nothing (not in the catalog); reinstatement
  emits the event of the state it returns to; contract.expiring once; contract.flagged on a risk
  flag set *or cleared* (``risk_flagged`` says which).
- Audit trail: filing submitted, filing accepted/rejected, every termination.
- The agency counts as approved while ``filing_in_force`` (renewal, DECISIONS D11); a filing of a
  suspended agency is not accepted (422 agency_not_approved).
- Live contracts follow the enterprise's name and district (history note, no event).
- Filing numbers ``JM-HT-<year>-<nnnnnn>`` from a per-year counter in the accepting transaction.
- ``fee_yuan`` is a decimal with 2 places, serialised as a string.
"""
