"""A model's feature table, read from the warehouse with ``COPY ... TO STDOUT`` into Arrow.

COPY streams the rows as CSV in large chunks and Arrow's multi-threaded CSV reader parses them
into typed columns, with no Python object per row: several times faster than
``pandas.read_sql`` on a million rows (``bench/bench_drift.py`` measures both).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from psycopg import errors, sql

from scrollintel.exceptions import ScrollIntelError
from scrollintel.warehouse import connect

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from scrollintel.config.models import ModelConfig


class FeatureTableMissing(ScrollIntelError):
    """The model's feature table does not exist yet: dbt has not built it."""


@contextmanager
def _existing_table(model: ModelConfig) -> Iterator[None]:
    """Turn "relation does not exist" into :class:`FeatureTableMissing` saying what builds the table."""
    try:
        yield
    except errors.UndefinedTable as err:
        raise FeatureTableMissing(
            f"{model.features_table} does not exist yet: transform_warehouse builds it (dbt, then its quality "
            "gate publishes the mart); run the ingestion and transform DAGs first"
        ) from err


def table_identifier(model: ModelConfig) -> sql.Identifier:
    """``"<schema>"."<table>"`` of the model's feature table."""
    schema, table = model.features_table.split(".", 1)
    return sql.Identifier(schema, table)


def snapshots(url: str, model: ModelConfig) -> list[dt.date]:
    """The snapshot dates present in the feature table, oldest first."""
    query = sql.SQL("SELECT DISTINCT {col} FROM {table} ORDER BY 1").format(
        col=sql.Identifier(model.snapshot_column), table=table_identifier(model)
    )
    with _existing_table(model), connect(url) as conn:
        return [row[0] for row in conn.execute(query)]


def _select(model: ModelConfig, columns: Sequence[str], snapshot_dates: Sequence[dt.date] | None) -> sql.Composed:
    where: sql.Composable = sql.SQL("")
    if snapshot_dates is not None:
        dates = sql.SQL(", ").join(sql.Literal(day) for day in snapshot_dates) if snapshot_dates else sql.SQL("NULL")
        where = sql.SQL(" WHERE {col} IN ({dates})").format(col=sql.Identifier(model.snapshot_column), dates=dates)
    order = sql.SQL(", ").join(sql.Identifier(name) for name in [model.snapshot_column, *model.entity_key])
    return sql.SQL("SELECT {cols} FROM {table}{where} ORDER BY {order}").format(
        cols=sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        table=table_identifier(model),
        where=where,
        order=order,
    )


def read_arrow(
    url: str,
    model: ModelConfig,
    snapshot_dates: Sequence[dt.date] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Rows of the given snapshots (all when None) as an Arrow table, ordered by snapshot and key.

    ``columns`` defaults to every column the model uses (:attr:`ModelConfig.columns`).

    Raises:
        FeatureTableMissing: the table does not exist yet.
    """
    import pyarrow as pa
    from pyarrow import csv

    wanted = list(columns or model.columns)
    copy = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(_select(model, wanted, snapshot_dates))
    buffer = io.BytesIO()
    with _existing_table(model), connect(url) as conn, conn.cursor() as cur, cur.copy(copy) as stream:
        for chunk in stream:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pa.table({name: pa.array([], pa.null()) for name in wanted})
    buffer.seek(0)
    options = csv.ConvertOptions(strings_can_be_null=True, column_types={model.snapshot_column: pa.date32()})
    return csv.read_csv(buffer, convert_options=options)


def read_frame(
    url: str,
    model: ModelConfig,
    snapshot_dates: Sequence[dt.date] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`read_arrow` as a pandas DataFrame (numpy-backed columns, as scikit-learn expects)."""
    return read_arrow(url, model, snapshot_dates, columns).to_pandas()
