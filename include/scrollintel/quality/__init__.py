"""Data quality: Great Expectations 1.x checkpoints over warehouse datasets, results history, data docs.

Each guarded dataset (``raw.shop__orders``, ``marts.customers``, ...) has a suite in
``expectations/<dataset>.json``. :func:`scrollintel.quality.runner.run_quality_gate` validates a
list of datasets in one GX checkpoint, stores every expectation result in
``governance.quality_run`` / ``governance.quality_result``, rebuilds the data docs and raises
:class:`scrollintel.quality.errors.QualityGateFailed` when an expectation failed.
:func:`scrollintel.quality.runner.validate_rows` checks a batch of rows (what one ingestion load
landed) against a suite's row-level expectations for the ingestion batch gate.
"""
