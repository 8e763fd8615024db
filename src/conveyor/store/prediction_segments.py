"""The prediction log's write-ahead segments: serving writes Parquet files, readers drain them into the table.

Writing a logged row into SQL costs the serving process more than predicting it (SQLite's own ~8-10 us a row, plus
one JSON document per row). :class:`SegmentedPredictionStore` wraps a :class:`PredictionStore` so that the serving
path (``log_batches`` of batches holding a float matrix) writes ONE Parquet segment per group of rows (same model
version, input names and classes) instead: the request matrices concatenated, one float column per input, the
prediction, one float column per class probability, and per row its id, time, latency, role and request id. A
segment is written to a temporary name and renamed, so a reader never sees half of one.

Everything else keeps working on the wrapped store's ``predictions`` table: every read and every mutation
(``recent``, ``add_feedback``, and through :func:`~conveyor.store.sql.maintenance.maintenance_of` retention,
``data forget`` and backups) first calls :meth:`SegmentedPredictionStore.drain`, which moves pending segments into
the table:

1. claim a segment by renaming it to ``<name>.claimed-<token>`` (atomic: of two drainers, one wins the rename, the
   other skips it);
2. insert its rows with ``log_batches(..., skip_existing=True)`` (``ON CONFLICT (id) DO NOTHING``);
3. delete the claimed file after the commit.

A drainer that dies between 2 and 3 leaves a claimed file; once it is older than ``stale_after`` seconds another
drainer claims it again and inserts nothing twice (the ids are there already). A writer that dies mid-write leaves a
``.tmp-`` file that no drainer reads (removed once stale).

Inputs that are not a float matrix (a frame with text or time columns) keep the wrapped store's own columnar write;
they are rare on the serving path and their JSON values need no second format.

With a ``keyring`` (encryption at rest) every segment is sealed like an artifact: a fresh data key wrapped by the
KEK, the Parquet bytes in AES-GCM chunks bound to the segment's name (:mod:`conveyor.store.encryption`).

pyarrow is imported when the first segment is written or read (the serving process imports it on its writer
thread, not at start-up).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from conveyor.core.entities import PredictionRecord
from conveyor.store.encryption import Keyring
from conveyor.store.predictions import PredictionBatch, PredictionStore

__all__ = ["SegmentedPredictionStore", "segment_folder_for"]

SUFFIX = ".parquet"
CLAIMED = ".claimed-"
TMP = ".tmp-"
_META = b"conveyor.segment"
_PRIMITIVE = {int: "int64", float: "float64", str: "string", bool: "bool"}
_SEALED = b"CVSEG1"  # a sealed segment: this, the key record's length (4 bytes), the key record, the sealed bytes


def segment_folder_for(url: str) -> Path | None:
    """Where the segments of a prediction log at ``url`` live: beside a SQLite file (``<file>-segments``, as its
    ``-wal`` file is), so any process that opens the database sees them; None for other backends (a PostgreSQL log
    is written by serving replicas on other hosts, whose local folders no reader sees)."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).with_name(Path(path).name + "-segments")


class SegmentedPredictionStore(PredictionStore):
    """A prediction store whose serving writes go to Parquet segments first; see the module docstring."""

    def __init__(self, inner: PredictionStore, folder: Path | str, *, stale_after: float = 300.0,
                 keyring: Keyring | None = None) -> None:
        self.inner = inner
        self.keyring = keyring
        self.url = inner.url
        self.folder = Path(folder)
        self.stale_after = stale_after
        self._names = itertools.count()
        self._drain_lock = threading.Lock()

    @property
    def db(self) -> Any:
        """The wrapped store's database (for maintenance and backups, which drain first)."""
        return self.inner.db  # type: ignore[attr-defined]

    # writing
    def log(self, records: list[PredictionRecord]) -> None:
        self.inner.log(records)

    def log_batches(self, batches: Sequence[PredictionBatch], *, skip_existing: bool = False) -> None:
        if skip_existing:  # a drain's write, or a caller's: straight into the table
            self.inner.log_batches(batches, skip_existing=True)
            return
        columnar = [b for b in batches if b.values is None and b.matrix is not None]
        other = [b for b in batches if not (b.values is None and b.matrix is not None)]
        if other:
            self.inner.log_batches(other)
        groups: dict[tuple[Any, ...], list[PredictionBatch]] = {}
        for b in columnar:
            if not len(b):
                continue
            key = (b.model, tuple(b.names), tuple(b.classes), b.proba is None)
            groups.setdefault(key, []).append(b)
        for group in groups.values():
            self.write_segment(group)

    def write_segment(self, batches: Sequence[PredictionBatch]) -> Path:
        """Write one segment of ``batches`` (one model version, input names and classes; each with a matrix)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = _table(batches)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._names):08d}"
        temporary = self.folder / f"{TMP}{name}"
        final = self.folder / f"{name}{SUFFIX}"
        # uncompressed, no statistics, dictionary pages only for the repeated strings: a segment lives until the next
        # drain, and snappy cost ~25% of the write for 15% fewer bytes (docs/benchmarks.md, sixth pass)
        options = {"compression": "none", "use_dictionary": ["model", "role", "request_id"],
                   "write_statistics": False}
        if self.keyring is None:
            pq.write_table(table, temporary, **options)
        else:
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, **options)
            temporary.write_bytes(_seal(self.keyring, final.name, sink.getvalue().to_pybytes()))
        os.replace(temporary, final)
        return final

    def _append(self, records: list[PredictionRecord], *, skip_existing: bool = False) -> None:
        self.inner._append(records, skip_existing=skip_existing)

    # draining
    def pending(self) -> list[Path]:
        """Segments not drained yet (unclaimed), oldest first."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return sorted(self.folder / n for n in names if n.endswith(SUFFIX))

    def drain(self, *, settle: float = 0.0) -> int:
        """Move every pending segment (and every stale claimed one) into the wrapped store; the rows moved. With
        ``settle`` > 0, then wait up to that many seconds while another drainer's claim is in flight: its rows were
        logged before this call but commit only when that drainer is done (a backup's snapshot must hold them)."""
        moved = self._drain()
        deadline = time.monotonic() + settle
        while settle > 0 and self._claims_in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        return moved

    def _claims_in_flight(self) -> bool:
        try:
            return any(CLAIMED in name for name in os.listdir(self.folder))
        except FileNotFoundError:
            return False

    def _drain(self) -> int:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return 0
        if not names:
            return 0
        moved = 0
        with self._drain_lock:
            for name in sorted(names):
                claimed = self._claim(name)
                if claimed is None:
                    continue
                try:
                    batches = read_segment(claimed, self.keyring)
                    self.inner.log_batches(batches, skip_existing=True)
                except FileNotFoundError:  # a stale claim another drainer took over meanwhile
                    continue
                except BaseException:  # unreadable, or the table refused it: back in line, and the reader is told
                    with contextlib.suppress(OSError):
                        os.rename(claimed, self.folder / claimed.name.split(CLAIMED, 1)[0])
                    raise
                claimed.unlink(missing_ok=True)
                moved += sum(map(len, batches))
        return moved

    def _claim(self, name: str) -> Path | None:
        path = self.folder / name
        if name.endswith(SUFFIX):
            base = name
        elif CLAIMED in name or name.startswith(TMP):
            try:
                stale = time.time() - path.stat().st_mtime > self.stale_after
            except FileNotFoundError:
                return None
            if not stale:
                return None
            if name.startswith(TMP):  # a writer died mid-write: nothing in it was ever visible
                path.unlink(missing_ok=True)
                return None
            base = name.split(CLAIMED, 1)[0]
        else:
            return None
        claimed = self.folder / f"{base}{CLAIMED}{os.getpid()}-{threading.get_ident()}-{time.time_ns()}"
        try:
            os.utime(path)  # the claim's age starts now (before the rename: no drainer sees an old claim)
            os.rename(path, claimed)  # atomic: one drainer wins
        except FileNotFoundError:
            return None
        return claimed

    # reading and mutating: the table, after a drain
    def add_feedback(self, labels: Mapping[str, Any], *, relabel: bool = False) -> list[str]:
        self.drain()
        return self.inner.add_feedback(labels, relabel=relabel)

    def recent(self, model_name: str | None = None, limit: int | None = None, *,
               model_version: str | None = None) -> list[PredictionRecord]:
        self.drain()
        return self.inner.recent(model_name, limit, model_version=model_version)


def _repeated(values: list[Any], indices: Any, sizes: list[int], kind: Any) -> Any:
    """One value per request, repeated over its rows, as a dictionary column (no Python object per row); a None
    value is a null row."""
    import numpy as np
    import pyarrow as pa

    missing = [v is None for v in values]
    mask = np.repeat(np.array(missing), sizes) if any(missing) else None
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask),
                                          pa.array(["" if v is None else v for v in values], kind))


def _block(parts: list[Any], columns: int) -> Any:
    """The row blocks stacked into one Fortran-ordered float64 matrix: each column is contiguous, so an Arrow column
    wraps it without a copy."""
    import numpy as np

    rows = sum(len(p) for p in parts)
    block = np.empty((rows, columns), np.float64, order="F")
    if len(parts) > 1:
        np.concatenate(parts, out=block)
    elif rows:
        np.copyto(block, parts[0])
    return block


def _ids(batches: Sequence[PredictionBatch], rows: int) -> Any:
    """The id column: from the requests' id blocks as one Arrow buffer when every batch has one (32 characters an
    id), else from the Python strings."""
    import numpy as np
    import pyarrow as pa

    texts = [b.id_text for b in batches]
    if all(texts):
        data = "".join(texts).encode()  # type: ignore[arg-type]
        if len(data) == 32 * rows:
            offsets = np.arange(0, 32 * rows + 1, 32, dtype=np.int32)
            return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))
    return pa.array(list(itertools.chain.from_iterable(b.ids for b in batches)), pa.string())


def _table(batches: Sequence[PredictionBatch]) -> Any:
    import numpy as np
    import pyarrow as pa

    first = batches[0]
    sizes = [len(b) for b in batches]
    rows = sum(sizes)
    inputs = _block([b.matrix for b in batches], len(first.names))
    request = np.repeat(np.arange(len(batches), dtype=np.int32), sizes)
    columns: dict[str, Any] = {
        "id": _ids(batches, rows),
        "model": _repeated([first.model], np.zeros(rows, np.int32), [rows], pa.string()),
        "request": pa.array(request),
        "at": pa.array(np.repeat(np.array([b.at for b in batches], np.float64), sizes)),
        "latency_ms": pa.array(np.repeat(np.array([b.latency_ms for b in batches], np.float64), sizes)),
        "role": _repeated([b.role for b in batches], request, sizes, pa.string()),
        "request_id": _repeated([b.request_id for b in batches], request, sizes, pa.string()),
    }
    for j in range(inputs.shape[1]):
        columns[f"in.{j}"] = pa.array(inputs[:, j])
    predictions = list(itertools.chain.from_iterable(b.predictions for b in batches))
    kinds = set(map(type, predictions))
    kind = _PRIMITIVE.get(next(iter(kinds))) if len(kinds) == 1 else None
    encoded = kind is None
    if not encoded:
        try:
            columns["prediction"] = pa.array(predictions, kind)
        except (pa.ArrowException, OverflowError):  # e.g. an integer beyond 64 bits
            encoded = True
    if encoded:
        columns["prediction"] = pa.array([orjson.dumps(p, option=orjson.OPT_SERIALIZE_NUMPY).decode()
                                          for p in predictions], pa.string())
    if first.proba is not None:
        parts = [b.proba if isinstance(b.proba, np.ndarray) else np.array(b.proba or [], np.float64)
                 .reshape(len(b), len(first.classes)) for b in batches]
        proba = _block(parts, len(first.classes))
        for j in range(proba.shape[1]):
            columns[f"p.{j}"] = pa.array(proba[:, j])
    meta = {"model": first.model, "names": list(first.names), "classes": list(first.classes),
            "proba": first.proba is not None, "encoded": encoded}
    return pa.table(columns).replace_schema_metadata({_META: orjson.dumps(meta)})


def _seal(keyring: Keyring, name: str, data: bytes) -> bytes:
    from conveyor.store.encryption import encrypt_chunks

    data_key = os.urandom(32)
    record = keyring.wrap(data_key, name)
    return b"".join([_SEALED, len(record).to_bytes(4, "big"), record, *encrypt_chunks(data_key, name, data)])


def _unseal(keyring: Keyring | None, path: Path) -> bytes:
    from conveyor.core.errors import IntegrityError
    from conveyor.store.encryption import decrypt_object

    data = path.read_bytes()
    name = path.name.split(CLAIMED, 1)[0]
    if not data.startswith(_SEALED):
        if keyring is not None:
            raise IntegrityError(f"Prediction log segment {name} is not encrypted, but encryption at rest is on.",
                                 hint="Segments written before encryption was turned on: drain them without the "
                                      "key once (CONVEYOR_ENCRYPTION_KEY unset), or delete them.")
        return data
    if keyring is None:
        raise IntegrityError(f"Prediction log segment {name} is encrypted, but no encryption key is configured.",
                             field="CONVEYOR_ENCRYPTION_KEY",
                             hint="Set security.encryption or CONVEYOR_ENCRYPTION_KEY.")
    start = len(_SEALED) + 4
    end = start + int.from_bytes(data[len(_SEALED):start], "big")
    return decrypt_object(keyring.unwrap(data[start:end], name), name, data[end:])


def read_segment(path: Path, keyring: Keyring | None = None) -> list[PredictionBatch]:
    """The batches (one per request) a segment file holds (sealed under ``keyring`` when one is given)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(_unseal(keyring, path)))
    meta = orjson.loads(table.schema.metadata[_META])
    names, classes = meta["names"], meta["classes"]
    rows = table.num_rows
    ids = table.column("id").to_pylist()
    request = table.column("request").to_numpy()
    at = table.column("at").to_numpy()
    latency = table.column("latency_ms").to_numpy()
    role = table.column("role").to_pylist()
    request_id = table.column("request_id").to_pylist()
    matrix = (np.column_stack([table.column(f"in.{j}").to_numpy() for j in range(len(names))]) if names
              else np.zeros((rows, 0)))
    predictions = table.column("prediction").to_pylist()
    if meta["encoded"]:
        predictions = [orjson.loads(p) for p in predictions]
    proba: list[list[Any]] | None = None
    if meta["proba"]:
        values = np.column_stack([table.column(f"p.{j}").to_numpy() for j in range(len(classes))]) if classes \
            else np.zeros((rows, 0))
        proba = values.tolist()
        if np.isnan(values).any():
            proba = [[None if v != v else v for v in row] for row in proba]
    starts = [0, *(np.flatnonzero(np.diff(request)) + 1).tolist(), rows] if rows else [0]
    return [PredictionBatch(ids[a:b], meta["model"], float(at[a]), float(latency[a]), names, None, predictions[a:b],
                            classes, proba[a:b] if proba is not None else None, role[a], request_id[a],
                            matrix[a:b])
            for a, b in itertools.pairwise(starts)]
