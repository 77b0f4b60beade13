"""Compliance: data subject requests (GDPR Art. 15 / 17) answered from classification and lineage.

- :mod:`~scrollintel.compliance.subjects`: where a subject's data is (``scrollintel subject find``):
  every warehouse table, view and object-store file holding their rows, plain or hashed;
- :mod:`~scrollintel.compliance.erasure`: the erasure plan (delete, redact or keep with a legal
  basis), executed after approval in one transaction, and the re-scan that proves it;
- :mod:`~scrollintel.compliance.suppression`: the keys of erased subjects the ingestion loader
  drops, so a re-ingestion does not bring them back;
- :mod:`~scrollintel.compliance.requests`: the request records (``governance.subject_requests``).

Nothing here logs or records a subject's identifiers: the ledger references requests by id.
"""
