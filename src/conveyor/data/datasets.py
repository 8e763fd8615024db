"""Dataset versions: a table stored once as Parquet (content-addressed in the artifact store), with its profile.

The version id is the BLAKE3 hash of the content (values and Arrow types), so the same content always gives the
same id and is stored once. Rows are hashed in fixed slices of ``HASH_ROWS`` whatever blocks they arrived in, so
a file read in 16 MB blocks and the same rows given as one DataFrame get the same id. Tables stream: batches go
to a temporary Parquet file and the hasher as they come, and the profile is then computed a column at a time,
so ingesting a file larger than memory keeps memory flat.

The artifact is written (atomically) before the record that points at it: a crash in between leaves an
unreferenced blob, never a record without its bytes.

Re-ingesting a file costs one hash of its bytes: a version records the digest of the file it came from (and the
options it was ingested with), and the same file again returns that version without parsing anything.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import blake3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.kinds import column_kind
from conveyor.core.refs import DatasetRef, check_name
from conveyor.data.csv_reader import CSV_BLOCK_SIZE
from conveyor.data.profile import profile_column, profile_document, profile_frame
from conveyor.data.readers import StreamingReader, TypeClash, checked_reader
from conveyor.store import Stores

HASH_ROWS = 1 << 16
"""Rows per hashed slice: fixed so that the version id does not depend on how the input was chunked."""

ProgressCallback = Callable[[int, int], None]
"""``(done, total)`` in bytes of the input."""


def check_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise BadInputError(f"Expected a pandas DataFrame from {source}, got {type(frame).__name__}.",
                            field="data")
    if frame.shape[1] == 0:
        raise BadInputError(f"{source} has no columns.", field="data", hint="Give a table with a header row.")
    if len(frame) == 0:
        raise BadInputError(f"{source} has a header but no rows.", field="data", hint="Give at least one row.")
    names = [str(c) for c in frame.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BadInputError(f"{source} has duplicate column names: {', '.join(duplicates)}.", field=duplicates[0],
                            hint="Rename the columns so each name appears once.")
    frame = frame.copy()
    frame.columns = names
    return frame.reset_index(drop=True)


def to_table(frame: pd.DataFrame) -> pa.Table:
    try:
        return normalize(pa.Table.from_pandas(frame, preserve_index=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise BadInputError(f"A column mixes types that cannot be stored: {exc}", field="data",
                            hint="Make each column hold one type (numbers, text or dates).") from None


def _plain_type(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(type_):
        return pa.string()
    if pa.types.is_large_binary(type_):
        return pa.binary()
    if pa.types.is_dictionary(type_):
        return pa.dictionary(type_.index_type, _plain_type(type_.value_type), type_.ordered)
    return type_


def normalize(table: pa.Table) -> pa.Table:
    """One Arrow type per kind of value: pandas gives ``large_string`` where the CSV reader gives ``string``, and
    the same text must give the same id whichever way it came."""
    schema = pa.schema([f.with_type(_plain_type(f.type)) for f in table.schema], metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema)


class VersionWriter:
    """Takes record batches; hashes them in fixed slices and writes them to a temporary Parquet file."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.hasher = blake3.blake3()
        self.hasher.update(schema.remove_metadata().serialize())
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.rows = 0
        fd, self.path = tempfile.mkstemp(prefix="conveyor-version-", suffix=".parquet")
        os.close(fd)
        self.sink = _HashingFile(self.path)
        # Dictionary encoding pays for text; on measurements it costs time and grows the file (2x slower here).
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
        self.writer = pq.ParquetWriter(self.sink, schema, compression="zstd", use_dictionary=text)
        self.file_digest: str | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        while self.pending_rows >= HASH_ROWS:
            self._flush(HASH_ROWS)

    def _flush(self, rows: int) -> None:
        table = pa.Table.from_batches(self.pending, schema=self.schema)
        head = table.slice(0, rows).combine_chunks()
        rest = table.slice(rows)
        for piece in head.to_batches():
            self.hasher.update(piece.replace_schema_metadata(None).serialize())
        self.writer.write_table(head)
        self.rows += head.num_rows
        self.pending = rest.to_batches()
        self.pending_rows = rest.num_rows
        if self.rows % (HASH_ROWS * 16) == 0:
            pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages for a while

    def finish(self) -> str:
        """Close the file; return the content id."""
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.writer.close()
        self.sink.close()
        self.file_digest = self.sink.hasher.hexdigest()
        return self.hasher.hexdigest()

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        self.sink.close()
        with contextlib.suppress(OSError):
            os.remove(self.path)


class _HashingFile:
    """A file that hashes what is written to it: the Parquet file's digest without reading it back."""

    def __init__(self, path: str) -> None:
        self.handle = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.hasher = blake3.blake3()
        self.closed = False

    def write(self, data) -> int:
        self.hasher.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def tell(self) -> int:
        return self.handle.tell()

    def close(self) -> None:
        if not self.closed:
            self.handle.close()
            self.closed = True


def ingest_frame(stores: Stores, frame: pd.DataFrame, name: str, *, source: str = "dataframe",
                 parents: list[str] | None = None, meta: dict | None = None) -> tuple[DatasetVersion, bool]:
    """Store ``frame`` as a version of dataset ``name``; return (version, whether it was new)."""
    check_name(name, "dataset name")
    frame = check_frame(frame, source)
    check_not_all_null(frame, source)
    table = to_table(frame)
    writer = VersionWriter(table.schema)
    try:
        for batch in table.to_batches():
            writer.write(batch)
        version_id = writer.finish()
        return _record(stores, writer.path, version_id, name, source=source, parents=parents, meta=meta,
                       frame=frame, file_digest=writer.file_digest)
    finally:
        writer.discard()


def ingest_batches(stores: Stores, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], *,
                   source: str, parents: list[str] | None = None,
                   meta: dict | None = None) -> tuple[DatasetVersion, bool]:
    """Store a stream of record batches (a SQL cursor, a generator) without holding them all in memory."""
    check_name(name, "dataset name")
    schema = normalize(schema.empty_table()).schema
    writer = VersionWriter(schema)
    try:
        for batch in batches:
            writer.write(pa.Table.from_batches([batch]).cast(schema).combine_chunks().to_batches()[0]
                         if batch.schema != schema else batch)
        version_id = writer.finish()
        return _record(stores, writer.path, version_id, name, source=source, parents=parents, meta=meta,
                       file_digest=writer.file_digest)
    finally:
        writer.discard()


def ingest_file(stores: Stores, path: str | Path, name: str, *, progress: ProgressCallback | None = None,
                block_size: int = CSV_BLOCK_SIZE, format: str | None = None) -> tuple[DatasetVersion, bool]:
    """Store a file its reader can read (CSV, Parquet, JSON lines, JSON, a plug-in's format; ``format`` names the
    reader when the extension does not). A streaming reader's file (CSV) goes through in blocks of ``block_size``
    bytes; the same file again is recognised by the hash of its bytes and costs nothing more."""
    check_name(name, "dataset name")
    path = Path(path)
    reader = checked_reader(path, format)
    file_digest = digest_file_streamed(path)
    options = {"format": format} if format else {}
    known = find_by_file_digest(stores, name, file_digest, options)
    if known is not None:
        return known, False
    source = str(path.resolve())
    meta = {"file_digest": file_digest, **({"options": options} if options else {})}
    if not isinstance(reader, StreamingReader):
        return ingest_frame(stores, reader.load(path), name, source=source, meta=meta)
    total = path.stat().st_size
    if progress is not None:
        progress(0, total)
    overrides: dict[str, pa.DataType] = {}
    while True:
        reporter = (lambda done: progress(done, total)) if progress else None
        with reader.open_batches(path, block_size=block_size, overrides=overrides, progress=reporter) as batches:
            writer = VersionWriter(batches.schema)
            try:
                for batch in batches:
                    writer.write(batch)
                if writer.pending_rows + writer.rows == 0:
                    raise BadInputError(f"{path} has a header but no rows.", field="source",
                                        hint="Give at least one row.")
                version_id = writer.finish()
                return _record(stores, writer.path, version_id, name, source=source, meta=meta,
                               file_digest=writer.file_digest)
            except TypeClash as clash:  # a later block needs a wider type: read again with it
                overrides[clash.column] = clash.type
            finally:
                writer.discard()


def digest_file_streamed(path: Path, block: int = 16 << 20) -> str:
    """BLAKE3 of a file read in blocks into one buffer. Slower than the memory-mapped hash used for file sets
    (0.8 vs 0.5 s per GB here) but the mapped pages would count as this process's memory while a large CSV is
    parsed, and the parsed route promises flat memory."""
    hasher = blake3.blake3()
    buffer = bytearray(block)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            hasher.update(view[:size])
    return hasher.hexdigest()


def find_by_file_digest(stores: Stores, name: str, file_digest: str,
                        options: dict | None = None) -> DatasetVersion | None:
    """The version this exact file (ingested with the same options) already became, if any."""
    for version in reversed(stores.datasets.versions(name)):
        if version.meta.get("file_digest") == file_digest and version.meta.get("options", {}) == (options or {}):
            return version
    return None


def check_not_all_null(frame: pd.DataFrame, source: str) -> None:
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise BadInputError(f"{source}: column {empty[0]!r} has no values (every row is null).", field=empty[0],
                            hint="Drop the column or fill it before ingesting.")


def _record(stores: Stores, parquet_path: str, version_id: str, name: str, *, source: str,
            parents: list[str] | None = None, meta: dict | None = None, frame: pd.DataFrame | None = None,
            file_digest: str | None = None) -> tuple[DatasetVersion, bool]:
    try:  # the same content again costs a hash, not a second copy
        return stores.datasets.get_version(name, version_id), False
    except NotFoundError:
        pass
    columns, profile = describe(parquet_path, frame)
    empty = [c["name"] for c in columns if profile["columns"][c["name"]]["count"] == 0]
    if profile["rows"] == 0:
        raise BadInputError(f"{source} has a header but no rows.", field="source", hint="Give at least one row.")
    if empty:
        raise BadInputError(f"{source}: column {empty[0]!r} has no values (every row is null).", field=empty[0],
                            hint="Drop the column or fill it before ingesting.")
    digest = stores.artifacts.put_file(parquet_path, file_digest)
    version = DatasetVersion(
        name=name,
        version=version_id,
        artifact=digest,
        rows=profile["rows"],
        columns=columns,
        profile=profile,
        source=source,
        parents=list(parents or []),
        meta=dict(meta or {}, bytes=os.path.getsize(parquet_path)),
    )
    return stores.datasets.add_version(version)


def describe(parquet_path: str, frame: pd.DataFrame | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Column list and profile; read back one column at a time when the frame is not in memory."""
    if frame is not None:
        columns = [{"name": c, "dtype": str(frame[c].dtype), "kind": column_kind(frame[c])} for c in frame.columns]
        return columns, profile_frame(frame)
    source = pq.ParquetFile(parquet_path)
    columns, profiles = [], {}
    for name in source.schema_arrow.names:
        series = source.read(columns=[name]).to_pandas()[name]
        columns.append({"name": name, "dtype": str(series.dtype), "kind": column_kind(series)})
        profiles[name] = profile_column(series)
        del series
        pa.default_memory_pool().release_unused()
    return columns, profile_document(source.metadata.num_rows, profiles)


def resolve(stores: Stores, ref: str | DatasetRef | DatasetVersion) -> DatasetVersion:
    if isinstance(ref, DatasetVersion):
        return ref
    parsed = ref if isinstance(ref, DatasetRef) else DatasetRef.parse(ref)
    return stores.datasets.get_version(parsed.name, parsed.version)


def load_frame(stores: Stores, version: DatasetVersion) -> pd.DataFrame:
    return load_table(stores, version).to_pandas()


def load_table(stores: Stores, version: DatasetVersion) -> pa.Table:
    """The version's Parquet as an Arrow table (what DuckDB reads for a SQL feature view)."""
    if version.meta.get("kind") == "files":
        raise BadInputError(f"{version.ref} is a set of files, not a table.", field="dataset",
                            hint=f"Write it out with `conveyor data checkout {version.ref} FOLDER`.")
    tombstone = version.meta.get("tombstone")
    if tombstone:
        raise NotFoundError(f"{version.ref} was erased (erasure {tombstone.get('erasure')}): its rows are gone.",
                            hint=f"Use {tombstone.get('replaced_by') or 'a newer version'}, written without them.")
    data = stores.artifacts.get_bytes(version.artifact)
    # An Arrow buffer, not io.BytesIO: reading from a Python file object leaves Arrow cleanup work that needs
    # the GIL after read_table returns, which aborts the process if it exits first (apache/arrow#33975, #34314).
    return pq.read_table(pa.BufferReader(data))
