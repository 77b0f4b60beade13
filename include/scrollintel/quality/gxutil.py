"""Great Expectations, imported quietly, and the ephemeral context the gates run in.

The context is ephemeral: its data source (with the warehouse's credentials), suites, validation
definitions and checkpoint live in memory only, so no connection string is ever written to disk.
Three stores are on disk, under the platform's state folder (:mod:`scrollintel.quality.docs`):
the validation results and the suites as last validated (so the data docs index lists every
dataset and past runs, not just this run's), and the data docs site itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

DOCS_SITE = "local_site"
#: Counts and aggregates only: no row values in results, result files or data docs (raw tables hold
#: personal data; a failing check says how many rows failed, never which values).
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 0}


def import_gx() -> Any:
    """Great Expectations, quiet: no usage statistics, no progress bars, its loggers at WARNING."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    # some GX modules set their own logger level to INFO when imported
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return gx


def _store(class_name: str, folder: Path | None) -> dict[str, Any]:
    """A GX store: files in ``folder``, or memory when there is none."""
    backend: dict[str, Any] = {"class_name": "InMemoryStoreBackend"}
    if folder is not None:
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)}
    return {"class_name": class_name, "store_backend": backend}


def make_context(
    *, validations_dir: Path | None = None, suites_dir: Path | None = None, docs_dir: Path | None = None
) -> Any:
    """An ephemeral GX context; suites, validation results and data docs are files when given folders.

    The gate validates in an all-memory context, then copies the results into a second context
    with the folders to build the docs: a problem with the docs' files can then never stop the
    validation itself.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    sites: dict[str, Any] = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        stores={
            "expectations_store": _store("ExpectationsStore", suites_dir),
            "validation_results_store": _store("ValidationResultsStore", validations_dir),
            "checkpoint_store": _store("CheckpointStore", None),
            "validation_definition_store": _store("ValidationDefinitionStore", None),
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
