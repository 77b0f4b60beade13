"""The lineage store: OpenLineage events in, Marquez-shaped lineage, impact and PII answers out.

- :mod:`~scrollintel.lineage.openlineage_events` validates incoming events against the OpenLineage spec;
- :mod:`~scrollintel.lineage.store` keeps them (append-only) and derives the graph, idempotently;
- :mod:`~scrollintel.lineage.graph` walks it (upstream, downstream, columns);
- :mod:`~scrollintel.lineage.marquez` answers in Marquez's JSON shapes;
- :mod:`~scrollintel.lineage.impact` and :mod:`~scrollintel.lineage.pii` answer "what breaks if I change
  this?" and "where is this personal data?";
- :mod:`~scrollintel.lineage.apikey` checks the API key OpenLineage producers post with.

The HTTP API lives in :mod:`scrollintel.web.routes.lineage_api`. Tables: migration ``0005_lineage``.
Importing this package is cheap: every module imports its heavy dependencies when called.
"""
