"""CSV and Parquet files on local storage or S3 (``type: files`` sources).

Each file resource names a glob relative to the store's root (``*`` and ``?`` stay within one
folder, ``**`` crosses folders). Files and folders whose name starts with ``.`` or ``_`` are
skipped (temporary and marker files, the convention of Spark, Hive and pyarrow datasets).
Matches are read in path order, so date-partitioned folders load oldest first.

Roots come from the source's Airflow connection:

- ``storage: local``: ``extra.path``, a folder (the ``fs`` connection, as in
  :mod:`scrollintel.health`);
- ``storage: s3``: ``extra.bucket`` and optional ``extra.prefix``; credentials, region and
  ``extra.endpoint_url`` are read by the amazon provider's connection wrapper (an ``aws``
  connection: ``login``/``password`` as the key pair, or any of its other methods).

Incremental by file: a file's fingerprint is ``<size>-<mtime ns>`` locally and its ETag on
S3. A file whose path and fingerprint are in ``CursorState.files`` is skipped; a new or changed
file is read whole, and its last chunk carries ``Chunk.file`` so the loader records it in the
same transaction as its rows. A chunk never spans two files. An S3 object is downloaded with
``If-Match`` on the listed ETag, and a local file is checked again after reading: a file that
changes while it is read fails the run (:class:`SourceChangedError`) before it is recorded.

Parquet files whose every column has an exact binary counterpart of its warehouse type
(integers, floats, booleans, text, dates, timestamps, decimals as numeric(p,s), binary) are also
offered as binary COPY data (:meth:`FilesConnector.extract_binary`, encoded from the Arrow
batches by pgpq), which the loader's first load prefers: no value is printed or parsed.

Schemas: Parquet from the file's own schema, CSV from pyarrow's type inference on the first
block; both through ``map_type("arrow", ...)``. The newest file (last in path order) is the one
described. Extraction never builds a Python object per row: Parquet is read in record batches
and written as CSV by pyarrow; CSV is parsed with every column as text (an unquoted empty field
is NULL, a quoted one an empty string, as COPY reads it), reordered to the schema's columns by
header name, and written again by pyarrow. A schema column missing from an older file is
loaded as NULL; a file column that is not in the schema is ignored (both logged).

How Parquet types become text: what pyarrow writes (ISO dates and times, ``true``/``false``,
exact decimals, time zones as ``+hhmm``), except binary as bytea hex (``\\x0a1b``, vectorised
with numpy), nested types (list, struct, map) as JSON text (the one per-value Python path,
only for such columns), dictionary columns decoded and half floats widened.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.base import (
    BinaryUnavailable,
    Chunk,
    Connector,
    CursorState,
    DiscoveredSchema,
    SourceColumn,
)
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceChangedError, SourceError
from scrollintel.ingest.connectors.render import json_text, table_to_csv
from scrollintel.ingest.types import map_type

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import Connection

    from scrollintel.config.sources import DataFile, FilesSource

log = logging.getLogger(__name__)

#: Bytes of a CSV file whose values pyarrow's type inference looks at (the first block).
CSV_BLOCK_BYTES = 1 << 20
#: Bytes pyarrow's CSV reader parses per block when extracting. The reader keeps several blocks
#: in flight on its threads, so memory grows with it; the reader is not what bounds the speed.
CSV_READ_BLOCK_BYTES = 256 << 10
#: Arrow data per CSV chunk at most (fewer than ``chunk_rows`` rows when they are wide): the
#: rendered chunks in flight, a few of them, are most of the extraction's memory.
CSV_CHUNK_BYTES = 2 << 20
#: Rendered bytes between two hand-backs of Arrow's freed memory to the system (one costs a few ms).
RELEASE_BYTES = 8 << 20
#: Read buffer of Parquet files. Memory is bounded by one decoded row group whatever this is.
_PARQUET_BUFFER_BYTES = 4 << 20
_DOWNLOAD_PART_BYTES = 8 << 20
_SKIPPED_PREFIXES = (".", "_")
_GLOB_META = re.compile(r"[*?\[]")
_NUMERIC = re.compile(r"^numeric\((?P<p>\d+),(?P<s>\d+)\)$")
_DECIMAL128_DIGITS = 38


@dataclass(frozen=True)
class StoredFile:
    """One file of a store: path relative to the root (``/``-separated), size and fingerprint."""

    path: str
    size: int
    fingerprint: str


class Store(Protocol):
    """Where files live: listing by glob and local access for reading."""

    def describe(self) -> str:
        """The root, for messages."""

    def list(self, pattern: str) -> list[StoredFile]:
        """Files matching ``pattern``, sorted by path."""

    def fetch(self, file: StoredFile) -> contextlib.AbstractContextManager[Path]:
        """A local path holding exactly the version of ``file`` that was listed."""

    def check_unchanged(self, file: StoredFile) -> None:
        """Raise SourceChangedError when ``file`` changed since it was listed."""


# --------------------------------------------------------------------------- globs


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression matching relative ``/``-separated paths like the glob ``pattern``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body + "]")
                i = end + 1
                continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def static_prefix(pattern: str) -> str:
    """The folder part of ``pattern`` before its first wildcard (``a/b/`` of ``a/b/c*/d``)."""
    match = _GLOB_META.search(pattern)
    head = pattern if match is None else pattern[: match.start()]
    return head[: head.rfind("/") + 1]


def is_skipped(path: str) -> bool:
    """True when a part of the relative ``path`` starts with ``.`` or ``_``."""
    return any(part.startswith(_SKIPPED_PREFIXES) for part in path.split("/"))


# --------------------------------------------------------------------------- stores


class LocalStore:
    """Files under a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"local folder {self.root}"

    def list(self, pattern: str) -> list[StoredFile]:
        if not self.root.is_dir():
            raise SourceError(f"{self.describe()} does not exist")
        found = []
        for path in self.root.glob(pattern):
            relative = path.relative_to(self.root).as_posix()
            if is_skipped(relative) or not path.is_file():
                continue
            found.append(_local_file(path, relative))
        return sorted(found, key=lambda item: item.path)

    @contextlib.contextmanager
    def fetch(self, file: StoredFile) -> Iterator[Path]:
        yield self.root / file.path

    def check_unchanged(self, file: StoredFile) -> None:
        path = self.root / file.path
        try:
            now = _local_file(path, file.path)
        except FileNotFoundError as err:
            raise SourceChangedError(f"{self.describe()}: {file.path} was removed while it was read") from err
        if now.fingerprint != file.fingerprint:
            raise SourceChangedError(f"{self.describe()}: {file.path} changed while it was read; the next run reads it")


def _local_file(path: Path, relative: str) -> StoredFile:
    stat = path.stat()
    return StoredFile(path=relative, size=stat.st_size, fingerprint=f"{stat.st_size}-{stat.st_mtime_ns}")


class S3Store:
    """Objects under ``s3://bucket/prefix``."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def list(self, pattern: str) -> list[StoredFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        matcher = glob_regex(pattern)
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + static_prefix(pattern)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    relative = item["Key"][len(self.prefix) :]
                    if item["Key"].endswith("/") or is_skipped(relative) or not matcher.fullmatch(relative):
                        continue
                    etag = str(item["ETag"]).strip('"')
                    found.append(StoredFile(path=relative, size=int(item["Size"]), fingerprint=etag))
        except (BotoCoreError, ClientError) as err:
            raise _s3_error(err, f"listing {self.describe()}{static_prefix(pattern)}") from err
        return sorted(found, key=lambda item: item.path)

    @contextlib.contextmanager
    def fetch(self, file: StoredFile) -> Iterator[Path]:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.prefix + file.path
        with tempfile.TemporaryDirectory(prefix="scrollintel-s3-") as folder:
            local = Path(folder) / Path(file.path).name
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=key, IfMatch=f'"{file.fingerprint}"')
                with local.open("wb") as sink:
                    for part in answer["Body"].iter_chunks(_DOWNLOAD_PART_BYTES):
                        sink.write(part)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code in ("PreconditionFailed", "412", "NoSuchKey"):
                    raise SourceChangedError(
                        f"s3://{self.bucket}/{key} changed or vanished since it was listed; the next run reads it"
                    ) from err
                raise _s3_error(err, f"reading s3://{self.bucket}/{key}") from err
            except BotoCoreError as err:
                raise _s3_error(err, f"reading s3://{self.bucket}/{key}") from err
            yield local

    def check_unchanged(self, file: StoredFile) -> None:
        """Nothing to do: the download was conditional on the listed ETag."""


def _s3_error(err: Exception, doing: str) -> SourceError:
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken") or status == 403:
            return SourceAuthError(f"{doing} was refused ({code}); check the credentials of the S3 connection")
        return SourceError(f"{doing} failed: {code or status}")
    return SourceError(f"{doing} failed: {type(err).__name__}: {err}")


def s3_client(connection: Connection) -> Any:
    """A boto3 S3 client configured like the amazon provider's hooks configure theirs."""
    from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    wrapper = AwsConnectionWrapper(conn=connection)
    session = BaseSessionFactory(
        conn=wrapper, region_name=wrapper.region_name, config=wrapper.botocore_config
    ).create_session()
    return session.client(
        "s3",
        endpoint_url=wrapper.get_service_endpoint_url("s3"),
        config=wrapper.botocore_config,
        verify=wrapper.verify,
    )


# --------------------------------------------------------------------------- arrow -> CSV


def csv_ready(table: pa.Table) -> pa.Table:
    """``table`` with every column in a type pyarrow's CSV writer renders as PostgreSQL reads it."""
    import pyarrow as pa

    return pa.Table.from_arrays([_csv_column(column) for column in table.columns], names=table.column_names)


def _csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        return _csv_column(column.cast(kind.value_type))
    if pa.types.is_fixed_size_binary(kind):
        return _csv_column(column.cast(pa.binary()))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return pa.chunked_array([bytea_hex(chunk) for chunk in column.chunks], type=pa.large_string())
    if pa.types.is_nested(kind):
        values = column.to_pylist(maps_as_pydicts="lossy")
        return pa.chunked_array([pa.array([None if v is None else json_text(v) for v in values], pa.large_string())])
    if pa.types.is_float16(kind):
        return column.cast(pa.float32())
    return column


def bytea_hex(array: pa.Array) -> pa.Array:
    """A binary array as PostgreSQL bytea hex text (``\\x`` + two hex digits per byte), in numpy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_binary_view(array.type):
        array = array.cast(pa.large_binary())
    offset_type = np.int64 if pa.types.is_large_binary(array.type) else np.int32
    count = len(array)
    _validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[array.offset : array.offset + count + 1].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    body = data[offsets[0] : offsets[-1]] if count else data[:0]
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty(body.size * 2, dtype=np.uint8)
    hexed[0::2] = digits[body >> 4]
    hexed[1::2] = digits[body & 0x0F]
    lengths = np.diff(offsets) * 2 + 2
    new_offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    out = np.empty(int(new_offsets[-1]), dtype=np.uint8)
    starts = new_offsets[:-1]
    is_digit = np.ones(out.size, dtype=bool)
    is_digit[starts] = False
    is_digit[starts + 1] = False
    out[starts] = ord("\\")
    out[starts + 1] = ord("x")
    out[is_digit] = hexed
    text = pa.LargeStringArray.from_buffers(count, pa.py_buffer(new_offsets), pa.py_buffer(out))
    if array.null_count == 0:
        return text
    return pc.if_else(array.is_valid(), text, pa.scalar(None, pa.large_string()))


def rebatch(batches: Iterator[pa.RecordBatch], chunk_rows: int, max_bytes: int | None = None) -> Iterator[pa.Table]:
    """Tables of ``chunk_rows`` rows (the last one fewer) from record batches (zero-copy).

    ``max_bytes``: fewer rows per table when ``chunk_rows`` of them would hold more Arrow data
    than that (wide rows), sized from the widest batch read so far.
    """
    import pyarrow as pa

    buffered: list[pa.RecordBatch] = []
    count = 0
    limit = chunk_rows
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if max_bytes is not None:
            limit = min(limit, max(1, max_bytes * batch.num_rows // max(batch.nbytes, 1)))
        buffered.append(batch)
        count += batch.num_rows
        while count >= limit:
            table = pa.Table.from_batches(buffered)
            yield table.slice(0, limit)
            rest = table.slice(limit)
            buffered, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(buffered)


# --------------------------------------------------------------------------- connector


class FilesConnector(Connector):
    """Reads the file resources of a :class:`~scrollintel.config.sources.FilesSource`."""

    def __init__(self, source: FilesSource, connection: Connection, *, s3: Any = None) -> None:
        self.source = source
        self.connection = connection
        self._s3 = s3
        self._stores: dict[str, Store] = {}

    # -- stores -------------------------------------------------------------------------------

    def store(self, storage: str) -> Store:
        """The store of ``storage`` (``local`` or ``s3``), built from the connection once."""
        if storage not in self._stores:
            self._stores[storage] = self._make_store(storage)
        return self._stores[storage]

    def _make_store(self, storage: str) -> Store:
        extra = self.connection.extra_dejson
        conn_id = self.connection.conn_id
        if storage == "local":
            root = extra.get("path")
            if not root:
                raise ConfigError(f"connection {conn_id!r} needs extra 'path' (the local root folder)")
            return LocalStore(Path(str(root)))
        if storage == "s3":
            bucket = extra.get("bucket")
            if not bucket:
                raise ConfigError(f"connection {conn_id!r} needs extra 'bucket' for S3 files")
            return S3Store(self._s3 or s3_client(self.connection), str(bucket), str(extra.get("prefix") or ""))
        raise ConfigError(f"unknown storage {storage!r} (known: local, s3)")

    def _spec(self, resource: str) -> DataFile:
        try:
            return self.source.resource(resource)  # type: ignore[return-value]
        except KeyError as err:
            names = ", ".join(item.name for item in self.source.files)
            raise SourceError(
                f"source {self.source.name!r} has no file resource {resource!r} (it has: {names})"
            ) from err

    def list_files(self, resource: str) -> list[StoredFile]:
        """The files of ``resource``, in path order."""
        spec = self._spec(resource)
        return self.store(spec.storage).list(spec.path)

    # -- contract -----------------------------------------------------------------------------

    def discover(self, resource: str) -> DiscoveredSchema:
        """Columns of the newest matching file (last in path order)."""
        spec = self._spec(resource)
        store = self.store(spec.storage)
        files = store.list(spec.path)
        if not files:
            raise SourceError(f"{resource}: no file matches {spec.path!r} in {store.describe()}")
        newest = files[-1]
        with store.fetch(newest) as path:
            schema = _parquet_schema(path) if spec.format == "parquet" else _csv_schema(path)
        names = [field.name for field in schema]
        if len(set(names)) != len(names):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            raise SourceError(f"{resource}: {newest.path} has duplicate column names: {', '.join(duplicates)}")
        columns = []
        for field in schema:
            source_type = str(field.type)
            mapped = map_type("arrow", source_type)
            if not mapped.exact:
                log.warning("%s.%s: arrow type %r has no mapping; it loads as text", resource, field.name, source_type)
            columns.append(
                SourceColumn(name=field.name, source_type=source_type, pg_type=mapped.pg_type, nullable=field.nullable)
            )
        return DiscoveredSchema(resource=resource, columns=tuple(columns))

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Every new or changed file, whole, in chunks; the last chunk of a file carries ``Chunk.file``."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        spec, store, todo = self._todo(resource, state)
        for file in todo:
            yield from self._read(store, spec, file, schema, chunk_rows, render=_csv_render)

    def _todo(self, resource: str, state: CursorState) -> tuple[DataFile, Store, list[StoredFile]]:
        """The resource's spec, its store and the files to read (new or changed), in path order."""
        spec = self._spec(resource)
        store = self.store(spec.storage)
        files = store.list(spec.path)
        todo = [file for file in files if state.files.get(file.path) != file.fingerprint]
        loaded = len(files) - len(todo)
        log.info("%s: %d file(s) match, %d already loaded, %d to read", resource, len(files), loaded, len(todo))
        return spec, store, todo

    def supports_binary(self, schema: DiscoveredSchema) -> bool:
        """True for a Parquet resource whose every column has an exact binary form (see the module doc)."""
        return self._spec(schema.resource).format == "parquet" and binary_schema(schema) is not None

    def extract_binary(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """The chunks of :meth:`extract` as one binary COPY stream (header first, trailer last).

        Raises :class:`BinaryUnavailable` when a file's values do not convert to the schema's
        exact types; the loader then reads the resource as CSV.
        """
        import pgpq

        target = binary_schema(schema)
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        if target is None or self._spec(resource).format != "parquet":
            raise BinaryUnavailable(f"{resource}: not a Parquet resource with binary-safe columns")
        encoder = pgpq.ArrowToPostgresBinaryEncoder(target)
        spec, store, todo = self._todo(resource, state)

        def render(table: pa.Table) -> bytes:
            try:
                converted = table.cast(target)
            except (ValueError, TypeError, NotImplementedError) as err:  # ArrowInvalid is a ValueError
                raise BinaryUnavailable(f"{resource}: {err}") from None
            return b"".join(encoder.write_batch(batch) for batch in converted.to_batches())

        # one COPY stream: the header goes before the first chunk, the trailer after the last
        prefix = encoder.write_header()
        pending: Chunk | None = None
        for file in todo:
            for chunk in self._read(store, spec, file, schema, chunk_rows, render=render):
                if pending is not None:
                    yield pending
                pending = Chunk(data=prefix + chunk.data, rows=chunk.rows, file=chunk.file)
                prefix = b""
        if pending is None:
            pending = Chunk(data=prefix, rows=0)
        yield Chunk(data=pending.data + encoder.finish(), rows=pending.rows, file=pending.file)

    def _read(
        self,
        store: Store,
        spec: DataFile,
        file: StoredFile,
        schema: DiscoveredSchema,
        chunk_rows: int,
        *,
        render: Callable[[pa.Table], bytes],
    ) -> Iterator[Chunk]:
        import pyarrow as pa

        names = list(schema.names)
        marker = (file.path, file.fingerprint)
        # the chunk before the current one, rendered (its Arrow memory already freed): the last one
        # carries the file's marker once the file is read whole and found unchanged
        previous: Chunk | None = None
        rendered = 0
        with store.fetch(file) as path:
            try:
                batches, present = (
                    _parquet_batches(path, names, chunk_rows) if spec.format == "parquet" else _csv_batches(path, names)
                )
                _log_mismatch(spec.name, file.path, names, present)
                # CSV is parsed in small blocks: chunks can be cut by size too (a Parquet batch
                # is decoded whole, and slicing it only pins it longer)
                max_bytes = CSV_CHUNK_BYTES if spec.format == "csv" else None
                for table in rebatch(batches, chunk_rows, max_bytes):
                    chunk = _chunk(table, names, render)
                    del table
                    rendered += len(chunk.data)
                    if rendered >= RELEASE_BYTES:
                        # Arrow's allocator (mimalloc) keeps pages the reader's threads freed: a
                        # 2M-row CSV file held ~140 MB resident for ~50 MB in use
                        pa.default_memory_pool().release_unused()
                        rendered = 0
                    if previous is not None:
                        yield previous
                    previous = chunk
            except (pa.ArrowException, OSError) as err:
                raise SourceError(f"{spec.name}: cannot read {file.path} as {spec.format}: {err}") from err
            store.check_unchanged(file)
        if previous is None:
            yield Chunk(data=b"", rows=0, file=marker)
        else:
            yield Chunk(data=previous.data, rows=previous.rows, file=marker)

    def test_connection(self) -> tuple[bool, str]:
        """List every file resource's matches; fails when a store cannot be reached."""
        parts = []
        try:
            for spec in self.source.files:
                store = self.store(spec.storage)
                parts.append(f"{spec.name}: {len(store.list(spec.path))} file(s) in {store.describe()}")
        except (SourceError, ConfigError) as err:
            return False, str(err)
        return True, "; ".join(parts)


def _chunk(table: pa.Table, names: Sequence[str], render: Callable[[pa.Table], bytes]) -> Chunk:
    aligned = _aligned(table, names)
    return Chunk(data=render(aligned), rows=aligned.num_rows)


def _csv_render(table: pa.Table) -> bytes:
    return table_to_csv(csv_ready(table))


def binary_arrow_type(pg_type: str) -> pa.DataType | None:
    """The Arrow type whose pgpq binary encoding is exactly ``pg_type``'s binary COPY form, if any."""
    import pyarrow as pa

    simple = {
        "boolean": pa.bool_(),
        "smallint": pa.int16(),
        "integer": pa.int32(),
        "bigint": pa.int64(),
        "real": pa.float32(),
        "double precision": pa.float64(),
        "text": pa.string(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "bytea": pa.binary(),
    }
    if pg_type in simple:
        return simple[pg_type]
    decimal = _NUMERIC.match(pg_type)
    if decimal and int(decimal["p"]) <= _DECIMAL128_DIGITS:
        return pa.decimal128(int(decimal["p"]), int(decimal["s"]))
    return None


def binary_schema(schema: DiscoveredSchema) -> pa.Schema | None:
    """The Arrow schema a binary stream of ``schema``'s warehouse types is encoded from, or None."""
    import pyarrow as pa

    fields = []
    for column in schema.columns:
        arrow_type = binary_arrow_type(column.pg_type)
        if arrow_type is None:
            return None
        fields.append(pa.field(column.name, arrow_type))
    return pa.schema(fields)


def _aligned(table: pa.Table, names: Sequence[str]) -> pa.Table:
    """``table``'s columns in schema order; schema columns the file lacks as NULL."""
    import pyarrow as pa

    present = set(table.column_names)
    columns = [table.column(name) if name in present else pa.nulls(table.num_rows, pa.string()) for name in names]
    return pa.Table.from_arrays(columns, names=list(names))


def _log_mismatch(resource: str, path: str, names: Sequence[str], present: Sequence[str]) -> None:
    if names and not set(names) & set(present):
        raise SourceError(f"{resource}: {path} has none of the schema's columns (it has: {', '.join(present)})")
    missing = [name for name in names if name not in present]
    extra = [name for name in present if name not in set(names)]
    if missing:
        log.warning("%s: %s lacks column(s) %s; they load as NULL", resource, path, ", ".join(missing))
    if extra:
        log.warning("%s: %s has column(s) not in the schema, not loaded: %s", resource, path, ", ".join(extra))


def _parquet_schema(path: Path) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.read_schema(path)


def _parquet_batches(path: Path, names: Sequence[str], chunk_rows: int) -> tuple[Iterator[pa.RecordBatch], list[str]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path, buffer_size=_PARQUET_BUFFER_BYTES, pre_buffer=False)
    present = list(parquet.schema_arrow.names)
    wanted = [name for name in names if name in present]
    return parquet.iter_batches(batch_size=chunk_rows, columns=wanted), present


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (a UTF-8 byte order mark is dropped)."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return next(csv.reader(stream), [])


def _csv_options(columns: Sequence[str] | None) -> dict[str, Any]:
    """Reader options: only an unquoted empty field is NULL; with ``columns``, those as text.

    Without ``columns`` (type inference) one thread reads the first block only; with them the
    reader parses smaller blocks on its threads.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert: dict[str, Any] = {"strings_can_be_null": True, "quoted_strings_can_be_null": False, "null_values": [""]}
    if columns is not None:
        convert.update(column_types=dict.fromkeys(columns, pa.string()), include_columns=list(columns))
        read = pacsv.ReadOptions(block_size=CSV_READ_BLOCK_BYTES)
    else:
        read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False)
    return {
        "read_options": read,
        "parse_options": pacsv.ParseOptions(newlines_in_values=True),
        "convert_options": pacsv.ConvertOptions(**convert),
    }


def _csv_schema(path: Path) -> pa.Schema:
    import pyarrow.csv as pacsv

    with pacsv.open_csv(path, **_csv_options(None)) as reader:
        return reader.schema


def _csv_batches(path: Path, names: Sequence[str]) -> tuple[Iterator[pa.RecordBatch], list[str]]:
    import pyarrow.csv as pacsv

    present = csv_header(path)
    duplicates = sorted({name for name in present if present.count(name) > 1})
    if duplicates:
        raise SourceError(f"{path.name} has duplicate column names: {', '.join(duplicates)}")
    wanted = [name for name in names if name in present]
    if not wanted:
        return iter(()), present
    return iter(pacsv.open_csv(path, **_csv_options(wanted))), present
