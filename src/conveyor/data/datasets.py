"""Dataset versions: a DataFrame stored once as Parquet (content-addressed in the artifact store), with its profile.

The version id is the BLAKE3 hash of the content (values and types), so the same content always gives the same
id and is stored once.
The artifact is written (atomically) before the record that points at it: a crash in between leaves an
unreferenced blob, never a record without its bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.kinds import column_kind
from conveyor.core.refs import DatasetRef, check_name
from conveyor.data.profile import profile_frame
from conveyor.data.readers import read_file
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes


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
        raise BadInputError(f"{source} has duplicate column names: {', '.join(duplicates)}.", field="columns",
                            hint="Rename the columns so each name appears once.")
    frame = frame.copy()
    frame.columns = names
    return frame.reset_index(drop=True)


def to_table(frame: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadInputError(f"A column mixes types that cannot be stored: {exc}", field="data",
                            hint="Make each column hold one type (numbers, text or dates).") from None


def to_parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def content_id(table: pa.Table) -> str:
    """The version id: a hash of the values and Arrow types alone. The Parquet bytes also carry the pandas and
    pyarrow versions that wrote them, so hashing those would give the same data a new id after an upgrade."""
    sink = pa.BufferOutputStream()
    bare = table.replace_schema_metadata(None)
    with pa.ipc.new_stream(sink, bare.schema) as writer:
        writer.write_table(bare)
    return digest_bytes(sink.getvalue().to_pybytes())


def ingest_frame(stores: Stores, frame: pd.DataFrame, name: str, *, source: str = "dataframe",
                 parents: list[str] | None = None, meta: dict | None = None) -> tuple[DatasetVersion, bool]:
    """Store ``frame`` as a version of dataset ``name``; return (version, whether it was new)."""
    check_name(name, "dataset name")
    frame = check_frame(frame, source)
    table = to_table(frame)
    version_id = content_id(table)
    try:  # the same content again costs a hash, not a second copy
        return stores.metadata.get_dataset_version(name, version_id), False
    except NotFoundError:
        pass
    data = to_parquet_bytes(table)
    digest = stores.artifacts.put_bytes(data)
    version = DatasetVersion(
        name=name,
        version=version_id,
        artifact=digest,
        rows=len(frame),
        columns=[{"name": c, "dtype": str(frame[c].dtype), "kind": column_kind(frame[c])} for c in frame.columns],
        profile=profile_frame(frame),
        source=source,
        parents=list(parents or []),
        meta=dict(meta or {}, bytes=len(data)),
    )
    return stores.metadata.add_dataset_version(version)


def ingest_file(stores: Stores, path: str | Path, name: str) -> tuple[DatasetVersion, bool]:
    check_name(name, "dataset name")
    path = Path(path)
    return ingest_frame(stores, read_file(path), name, source=str(path.resolve()))


def resolve(stores: Stores, ref: str | DatasetRef | DatasetVersion) -> DatasetVersion:
    if isinstance(ref, DatasetVersion):
        return ref
    parsed = ref if isinstance(ref, DatasetRef) else DatasetRef.parse(ref)
    return stores.metadata.get_dataset_version(parsed.name, parsed.version)


def load_frame(stores: Stores, version: DatasetVersion) -> pd.DataFrame:
    data = stores.artifacts.get_bytes(version.artifact)
    # An Arrow buffer, not io.BytesIO: reading from a Python file object leaves Arrow cleanup work that needs
    # the GIL after read_table returns, which aborts the process if it exits first (apache/arrow#33975, #34314).
    return pq.read_table(pa.BufferReader(data)).to_pandas()
