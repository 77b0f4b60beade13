"""MLflow runs, the model registry and its aliases: the small functions every model step calls.

- :func:`client`: an ``MlflowClient`` on the platform's tracking server (the Airflow connection
  ``mlflow_default`` in a task, ``MLFLOW_TRACKING_URI`` elsewhere), also set for MLflow's
  fluent API.
- :func:`log_training_run`: a fitted model (:class:`scrollintel.ml.results.FittedModel`) as an
  MLflow run: parameters, metrics, the search's candidates, the model with its signature and
  input example, the feature table as the run's input dataset (named as OpenLineage names it,
  :mod:`scrollintel.ml.datasets`) and the lineage tags of :mod:`scrollintel.ml.tracking`.
- :func:`register_version`: the run's model as a new version of the registered model; the first
  version gets alias ``champion``, later ones ``challenger`` (the promotion gate moves champion).
- :func:`champion_version` / :func:`alias_version`, :func:`load_version` / :func:`load_champion`,
  :func:`run_lineage`, :func:`missing_metadata`: what scoring, monitoring and the gates read.

**Loading models.** Models are stored in the skops format, which loads only the types a model's
``MLmodel`` file trusts: scikit-learn's tree predictor and calibration classes are not trusted by
default, so :func:`log_training_run` lists the ones the model needs (``skops_trusted_types``).
That list is read from the model itself, so :func:`load_version` first checks that every
trusted type is one of scikit-learn's (:data:`TRUSTED_TYPE_PREFIXES`) and refuses the model
otherwise: a registry entry cannot make a task import arbitrary code.

MLflow is imported inside the functions; importing this module is cheap.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml.results import TrainingResult
from scrollintel.ml.tracking import (
    CHALLENGER,
    CHAMPION,
    REFERENCE_ARTIFACT,
    TAG_AIRFLOW_RUN,
    TAG_DATASET,
    TAG_DATASET_NAMESPACE,
    TAG_DATASET_VERSION,
    TAG_HOLDOUT_SNAPSHOT,
    TAG_LINEAGE_RUN_ID,
    TAG_REFERENCE,
    TAG_TRAIN_SNAPSHOTS,
    registered_model_name,
    tracking_uri,
)
from scrollintel.warehouse import warehouse_dataset_name, warehouse_namespace

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

    from scrollintel.config.models import ModelConfig
    from scrollintel.ml.results import FittedModel

log = logging.getLogger(__name__)

#: Name of the model's artifact inside a run (``runs:/<run id>/model``) and of the logged model.
MODEL_ARTIFACT = "model"
#: Context of the feature table among the run's inputs.
TRAINING_CONTEXT = "training"
#: Prefixes of the types a model's skops file may trust (see the module docstring).
TRUSTED_TYPE_PREFIXES = ("sklearn.",)
#: The lineage tags a run (and its registered version) must carry; the lineage run id only
#: exists when the run was logged by an Airflow task.
REQUIRED_LINEAGE_TAGS = (
    TAG_DATASET,
    TAG_DATASET_NAMESPACE,
    TAG_DATASET_VERSION,
    TAG_TRAIN_SNAPSHOTS,
    TAG_HOLDOUT_SNAPSHOT,
)


class RegistryError(ScrollIntelError):
    """The registry refused an operation or holds something unusable; the message says which model and version."""


@dataclass(frozen=True)
class RunLineage:
    """The data a run trained on, as its tags record it."""

    dataset: str | None
    namespace: str | None
    version: str | None
    train_snapshots: tuple[str, ...]
    holdout_snapshot: str | None
    lineage_run_id: str | None

    @property
    def openlineage_name(self) -> str | None:
        """``warehouse.<schema>.<table>``: the dataset's name in OpenLineage."""
        if not self.dataset or "." not in self.dataset:
            return None
        schema, table = self.dataset.split(".", 1)
        return warehouse_dataset_name(schema, table)

    @property
    def missing(self) -> list[str]:
        """The required lineage tags the run lacks (empty when its lineage is complete)."""
        values = {
            TAG_DATASET: self.dataset,
            TAG_DATASET_NAMESPACE: self.namespace,
            TAG_DATASET_VERSION: self.version,
            TAG_TRAIN_SNAPSHOTS: ",".join(self.train_snapshots),
            TAG_HOLDOUT_SNAPSHOT: self.holdout_snapshot,
        }
        return [tag for tag in REQUIRED_LINEAGE_TAGS if not values[tag]]

    def as_tags(self) -> dict[str, str]:
        """The run tags that record this lineage (those that have a value)."""
        tags = {
            TAG_DATASET: self.dataset,
            TAG_DATASET_NAMESPACE: self.namespace,
            TAG_DATASET_VERSION: self.version,
            TAG_TRAIN_SNAPSHOTS: ",".join(self.train_snapshots),
            TAG_HOLDOUT_SNAPSHOT: self.holdout_snapshot,
            TAG_LINEAGE_RUN_ID: self.lineage_run_id,
        }
        return {key: value for key, value in tags.items() if value}


@dataclass(frozen=True)
class LoggedRun:
    """A finished training run and where its model is."""

    run_id: str
    experiment_id: str
    model_uri: str
    #: MLflow 3's logged model (``models:/<model id>`` is the model's URI).
    model_id: str
    lineage: RunLineage


@dataclass(frozen=True)
class Registration:
    """A registered model version and the alias it was given."""

    name: str
    version: str
    alias: str


# --------------------------------------------------------------------------- client


def client(uri: str | None = None) -> MlflowClient:
    """An ``MlflowClient`` on ``uri`` (default :func:`scrollintel.ml.tracking.tracking_uri`).

    Also points MLflow's fluent API (``mlflow.start_run``) and its registry at the same server.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    resolved = uri or tracking_uri()
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    return MlflowClient(tracking_uri=resolved, registry_uri=resolved)


def experiment_name(model: str) -> str:
    """The MLflow experiment of a governance model's runs (its name)."""
    return model


def ensure_experiment(mlflow_client: MlflowClient, model: str) -> str:
    """The id of the model's experiment, created when missing."""
    from mlflow.exceptions import MlflowException

    name = experiment_name(model)
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(mlflow_client.create_experiment(name, tags={"scrollintel.model": model}))
    except MlflowException as err:  # created meanwhile by another run
        if _error_code(err) != "RESOURCE_ALREADY_EXISTS":
            raise
        again = mlflow_client.get_experiment_by_name(name)
        assert again is not None
        return str(again.experiment_id)


def _error_code(err: Exception) -> str:
    return str(getattr(err, "error_code", ""))


# --------------------------------------------------------------------------- logging a run


def trusted_types(estimator: Any) -> list[str]:
    """The types beyond skops' defaults that loading ``estimator`` needs; checked to load back."""
    import skops.io

    data = skops.io.dumps(estimator)
    needed = sorted(skops.io.get_untrusted_types(data=data))
    _check_trusted(needed, "the trained model")
    skops.io.loads(data, trusted=needed)  # fails here, not when scoring, if the list is short
    return needed


def _check_trusted(types: list[str], what: str) -> None:
    foreign = [name for name in types if not name.startswith(TRUSTED_TYPE_PREFIXES)]
    if foreign:
        raise RegistryError(
            f"{what} trusts types outside {', '.join(TRUSTED_TYPE_PREFIXES)}: {', '.join(foreign)}; refused"
        )


def _pip_requirements() -> list[str]:
    """Pinned requirements of a logged model (stated, so MLflow does not start a process to infer them)."""
    from importlib.metadata import version

    return [f"scikit-learn=={version('scikit-learn')}", f"skops=={version('skops')}"]


def _log_reference(model: ModelConfig, fitted: FittedModel, training_frame: pd.DataFrame) -> None:
    """Log the holdout snapshot's rows (key, snapshot, features, label) as the run's reference artifact.

    Drift monitoring compares the newest snapshot with them (:mod:`scrollintel.ml.monitoring`): the
    most recent data the model knew, as it was then, so a later rewrite of that snapshot shows as drift
    and features that grow with time (tenure, totals) are compared one period apart, not across years.
    """
    import tempfile
    from pathlib import Path

    import mlflow
    import pandas as pd

    days = pd.to_datetime(training_frame[model.snapshot_column]).dt.date
    columns = [*model.entity_key, model.snapshot_column, *model.features, model.label]
    holdout = training_frame.loc[(days == fitted.split.holdout).to_numpy(), columns]
    folder, name = REFERENCE_ARTIFACT.rsplit("/", 1)
    with tempfile.TemporaryDirectory(prefix="scrollintel-reference-") as tmp:
        path = Path(tmp) / name
        holdout.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=folder)
    mlflow.set_tag(TAG_REFERENCE, REFERENCE_ARTIFACT)


def log_training_run(
    mlflow_client: MlflowClient,
    model: ModelConfig,
    fitted: FittedModel,
    *,
    training_frame: pd.DataFrame,
    lineage_run_id: str | None = None,
    airflow_run: str | None = None,
) -> LoggedRun:
    """Log ``fitted`` as a finished run of the model's experiment; returns the run and model URI.

    ``training_frame`` is what was read from the feature table (logged as the run's input
    dataset: its schema, row count and digest, not its rows).
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.models import infer_signature

    from scrollintel.ml.datasets import OpenLineageDatasetSource

    lineage = RunLineage(
        dataset=model.features_table,
        namespace=warehouse_namespace(),
        version=fitted.dataset_version,
        train_snapshots=tuple(str(day) for day in fitted.split.train),
        holdout_snapshot=str(fitted.split.holdout),
        lineage_run_id=lineage_run_id,
    )
    source = OpenLineageDatasetSource.for_table(model.features_table)
    dataset = from_pandas(
        training_frame, source=source, name=source.name, targets=model.label, digest=fitted.dataset_version
    )
    signature = infer_signature(fitted.input_example, fitted.estimator.predict_proba(fitted.input_example))
    trusted = trusted_types(fitted.estimator)
    experiment_id = ensure_experiment(mlflow_client, model.name)
    tags = {
        **lineage.as_tags(),
        "scrollintel.model": model.name,
        **({TAG_AIRFLOW_RUN: airflow_run} if airflow_run else {}),
    }
    run_name = f"{model.name} holdout {fitted.split.holdout}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        with warnings.catch_warnings():
            # MLflow hints that integer columns cannot hold missing values when it infers the
            # dataset's schema: true, and irrelevant to a record of the table (the model's own
            # signature is all double, see training.feature_frame).
            warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
            mlflow.log_input(dataset, context=TRAINING_CONTEXT)
        mlflow.log_params(fitted.params)
        mlflow.log_metrics(fitted.metrics)
        mlflow.log_metrics({"train_rows": fitted.train_rows, "holdout_rows": fitted.holdout_rows})
        mlflow.log_dict({"candidates": fitted.search_results}, "search/candidates.json")
        _log_reference(model, fitted, training_frame)
        mlflow.log_dict(
            {
                "train": [str(day) for day in fitted.split.train],
                "holdout": str(fitted.split.holdout),
                "purged": [str(day) for day in fitted.split.purged],
            },
            "split.json",
        )
        info = mlflow.sklearn.log_model(
            fitted.estimator,
            name=MODEL_ARTIFACT,
            serialization_format="skops",
            skops_trusted_types=trusted,
            signature=signature,
            input_example=fitted.input_example,
            pyfunc_predict_fn="predict_proba",
            pip_requirements=_pip_requirements(),
            metadata={"features": fitted.features, "operating_threshold": model.training.operating_threshold},
        )
        run_id = run.info.run_id
    return LoggedRun(
        run_id=run_id, experiment_id=experiment_id, model_uri=info.model_uri, model_id=info.model_id, lineage=lineage
    )


# --------------------------------------------------------------------------- registry and aliases


def alias_version(mlflow_client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version of registered model ``name`` that ``alias`` points at; None when none does.

    Read from the registered model's alias map: MLflow answers a missing alias with the generic
    ``INVALID_PARAMETER_VALUE``, which cannot be told apart from a real error.
    """
    from mlflow.exceptions import MlflowException

    try:
        registered = mlflow_client.get_registered_model(name)
    except MlflowException as err:
        if _error_code(err) == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = (registered.aliases or {}).get(alias)
    return None if version is None else mlflow_client.get_model_version(name, str(version))


def champion_version(mlflow_client: MlflowClient, name: str) -> ModelVersion | None:
    """The version in production (alias ``champion``) of registered model ``name``, or None."""
    return alias_version(mlflow_client, name, CHAMPION)


def ensure_registered_model(mlflow_client: MlflowClient, name: str, description: str | None = None) -> None:
    """Create the registered model ``name`` unless it exists."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.create_registered_model(name, description=description)
    except MlflowException as err:
        if _error_code(err) != "RESOURCE_ALREADY_EXISTS":
            raise


def register_version(mlflow_client: MlflowClient, model: ModelConfig, logged: LoggedRun) -> Registration:
    """Register the run's model as a new version and give it its alias.

    ``champion`` when no version carries it yet (the first training of the model), else
    ``challenger`` (moved from the previous challenger, if any). The version carries the run's
    lineage tags too, so whoever reads the registry sees the data without opening the run.
    """
    name = registered_model_name(model.name)
    ensure_registered_model(mlflow_client, name, description=model.description)
    version = mlflow_client.create_model_version(
        name, source=logged.model_uri, run_id=logged.run_id, tags=logged.lineage.as_tags(), model_id=logged.model_id
    )
    _wait_ready(mlflow_client, name, str(version.version))
    return assign_alias(mlflow_client, name, str(version.version))


def assign_alias(mlflow_client: MlflowClient, name: str, version: str) -> Registration:
    """Point ``champion`` at ``version`` when no version is champion, else ``challenger``."""
    alias = CHAMPION if champion_version(mlflow_client, name) is None else CHALLENGER
    mlflow_client.set_registered_model_alias(name, alias, version)
    log.info("registered model %s version %s: alias %s", name, version, alias)
    return Registration(name=name, version=version, alias=alias)


def _wait_ready(mlflow_client: MlflowClient, name: str, version: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = str(mlflow_client.get_model_version(name, version).status)
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION" or time.monotonic() > deadline:
            raise RegistryError(f"model {name} version {version} did not become ready (status {status})")
        time.sleep(1)


def find_registered_run(mlflow_client: MlflowClient, model: str, airflow_run: str) -> TrainingResult | None:
    """What an earlier try of the Airflow run ``airflow_run`` registered, or None.

    Runs of that Airflow run left ``RUNNING`` by a killed try are marked ``FAILED``; a version
    registered without its alias (the try died in between) gets its alias now.
    """
    experiment = mlflow_client.get_experiment_by_name(experiment_name(model))
    if experiment is None:
        return None
    name = registered_model_name(model)
    runs = mlflow_client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{TAG_AIRFLOW_RUN}` = '{_quote(airflow_run)}'"
    )
    for run in runs:
        if run.info.status == "RUNNING":
            mlflow_client.set_terminated(run.info.run_id, "FAILED")
            log.warning("run %s of %s was left running by a killed try: marked FAILED", run.info.run_id, airflow_run)
            continue
        if run.info.status != "FINISHED":
            continue
        versions = mlflow_client.search_model_versions(f"name = '{_quote(name)}' and run_id = '{run.info.run_id}'")
        if not versions:
            continue
        version = versions[0]
        aliases = [alias for alias in (version.aliases or []) if alias in (CHAMPION, CHALLENGER)]
        alias = aliases[0] if aliases else assign_alias(mlflow_client, name, str(version.version)).alias
        lineage = run_lineage(run)
        return TrainingResult(
            run_id=run.info.run_id,
            model_uri=str(version.source),
            registered_model=name,
            version=str(version.version),
            alias=alias,
            metrics={key: float(value) for key, value in run.data.metrics.items()},
            dataset_version=lineage.version or "",
            train_snapshots=lineage.train_snapshots,
            holdout_snapshot=lineage.holdout_snapshot or "",
            reused=True,
        )
    return None


def _quote(value: str) -> str:
    """A value inside a single-quoted MLflow search filter."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


# --------------------------------------------------------------------------- reading back


def run_lineage(run: Run) -> RunLineage:
    """The lineage a run's tags record (:attr:`RunLineage.missing` lists what is absent)."""
    tags: Mapping[str, str] = run.data.tags
    snapshots = tags.get(TAG_TRAIN_SNAPSHOTS, "")
    return RunLineage(
        dataset=tags.get(TAG_DATASET),
        namespace=tags.get(TAG_DATASET_NAMESPACE),
        version=tags.get(TAG_DATASET_VERSION),
        train_snapshots=tuple(day for day in snapshots.split(",") if day),
        holdout_snapshot=tags.get(TAG_HOLDOUT_SNAPSHOT),
        lineage_run_id=tags.get(TAG_LINEAGE_RUN_ID),
    )


def run_datasets(run: Run) -> list[dict[str, Any]]:
    """The run's input datasets: name, digest, source type, source (parsed) and context each."""
    found = []
    for entry in run.inputs.dataset_inputs if run.inputs else []:
        context = next((tag.value for tag in entry.tags if tag.key == "mlflow.data.context"), None)
        try:
            source: Any = json.loads(entry.dataset.source)
        except ValueError:
            source = entry.dataset.source
        found.append(
            {
                "name": entry.dataset.name,
                "digest": entry.dataset.digest,
                "source_type": entry.dataset.source_type,
                "source": source,
                "context": context,
            }
        )
    return found


def missing_metadata(mlflow_client: MlflowClient, name: str, version: str) -> list[str]:
    """What a registered version lacks to be promoted: signature, input example, lineage tags, input dataset.

    Empty when the version is complete; each item is a sentence naming what is missing.
    """
    from mlflow.models import get_model_info

    found = mlflow_client.get_model_version(name, version)
    problems: list[str] = []
    info = get_model_info(f"models:/{name}/{version}")
    if info.signature is None:
        problems.append("the model was logged without a signature")
    if info.saved_input_example_info is None:
        problems.append("the model was logged without an input example")
    if not found.run_id:
        return [*problems, "the version names no training run, so its data lineage is unknown"]
    run = mlflow_client.get_run(found.run_id)
    problems.extend(f"its run has no tag {tag}" for tag in run_lineage(run).missing)
    if not any(item["context"] == TRAINING_CONTEXT for item in run_datasets(run)):
        problems.append("its run logged no training dataset")
    return problems


@contextmanager
def _trusted_model(model_uri: str) -> Iterator[None]:
    """Refuse a model whose MLmodel trusts anything but scikit-learn's types (see the module docstring)."""
    from mlflow.models import get_model_info

    flavor = get_model_info(model_uri).flavors.get("sklearn", {})
    _check_trusted(list(flavor.get("skops_trusted_types") or []), f"model {model_uri}")
    yield


def load_version(name: str, version: str) -> Any:
    """The scikit-learn model of registered ``name`` version ``version`` (``predict_proba`` gives churn probabilities).

    Raises:
        RegistryError: the model trusts types outside scikit-learn's.
    """
    import mlflow.sklearn

    uri = f"models:/{name}/{version}"
    with _trusted_model(uri):
        return mlflow.sklearn.load_model(uri)


def load_champion(model: str, mlflow_client: MlflowClient | None = None) -> tuple[Any, str]:
    """The champion of governance model ``model``: (scikit-learn model, version).

    The alias is resolved once and the version loaded by number, so a promotion in between
    cannot hand back one version's model under another's number.

    Raises:
        RegistryError: no version is champion, or the model is refused (see :func:`load_version`).
    """
    mlflow_client = mlflow_client or client()
    name = registered_model_name(model)
    found = champion_version(mlflow_client, name)
    if found is None:
        raise RegistryError(f"registered model {name} has no {CHAMPION} version: train it first (DAG ml_{model}_train)")
    return load_version(name, str(found.version)), str(found.version)
