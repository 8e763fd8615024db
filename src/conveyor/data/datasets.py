"""Dataset versions: a DataFrame stored once as Parquet under the BLAKE3 hash of its bytes, with its profile.

The version id *is* the content hash, so the same content always gives the same id and is stored once.
The artifact is written (atomically) before the record that points at it: a crash in between leaves an
unreferenced blob, never a record without its bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
from conveyor.core.refs import DatasetRef, check_name
from conveyor.data.profile import column_kind, profile_frame
from conveyor.data.readers import read_file
from conveyor.store import Stores


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


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadInputError(f"A column mixes types that cannot be stored: {exc}", field="data",
                            hint="Make each column hold one type (numbers, text or dates).") from None
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def ingest_frame(stores: Stores, frame: pd.DataFrame, name: str, *, source: str = "dataframe",
                 parents: list[str] | None = None, meta: dict | None = None) -> tuple[DatasetVersion, bool]:
    """Store ``frame`` as a version of dataset ``name``; return (version, whether it was new)."""
    check_name(name, "dataset name")
    frame = check_frame(frame, source)
    data = to_parquet_bytes(frame)
    digest = stores.artifacts.put_bytes(data)
    version = DatasetVersion(
        name=name,
        version=digest,
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
    return pq.read_table(io.BytesIO(data)).to_pandas()
