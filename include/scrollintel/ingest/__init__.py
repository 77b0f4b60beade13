"""Ingestion: config-declared sources loaded into ``raw.<source>__<resource>`` exactly once.

Connectors (``scrollintel.ingest.connectors``) discover schemas and extract CSV chunks; the
loader stages them with COPY, quarantines rows that do not fit, merges into the raw table and
advances the cursor in one transaction.
"""
