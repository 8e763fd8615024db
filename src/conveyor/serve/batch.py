"""Batch scoring, file to file: the input rows plus `prediction` and, for classifiers, `proba_<class>` columns.

Files larger than memory stream through in chunks of ``chunk_rows``, read by the input format's reader
(:mod:`conveyor.data.readers`: CSV and JSON lines with pandas' chunked readers, Parquet by record batches); each
chunk is checked against the signature exactly as the server checks a request, scored, and appended to a temporary
output that replaces OUTPUT only when every chunk is done (a crash or a bad row never leaves a half-written file
under the real name). Chunks can be scored on any executor of :mod:`conveyor.execution` (inline, threads,
processes, and whatever else it offers); at most two per worker are in flight, so memory stays bounded whatever
the file size, and chunks are written in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.core.errors import BadInputError, first_line
from conveyor.data.readers import checked_reader
from conveyor.execution import get_executor
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.models import load_model
from conveyor.serve.conform import conform
from conveyor.serve.predictor import Predictor
from conveyor.store import Stores

WRITERS = {".csv", ".parquet", ".pq"}
DEFAULT_CHUNK_ROWS = 100_000


def score_frame(model: LoadedModel, frame: pd.DataFrame, offset: int = 0) -> pd.DataFrame:
    """Checked and cast against the signature exactly as the server does, so a file and a request that hold the
    same rows get the same answers (and the same error messages). ``offset`` makes row numbers file-wide."""
    try:
        features = conform(frame, model.version.signature.get("inputs", []), max_rows=max(len(frame), 1)).frame
    except BadInputError as exc:
        if offset:
            exc.message = f"{exc.message} (in the chunk starting at row {offset})"
        raise
    predictions, proba = Predictor(model).predict_frame(features, field="INPUT")
    out = frame.copy()
    out["prediction"] = predictions
    if proba is not None:
        for index, cls in enumerate(model.classes):
            out[f"proba_{cls}"] = proba[:, index]
    return out


def _chunks(path: Path, model: LoadedModel, chunk_rows: int) -> tuple[Iterator[pd.DataFrame], int | None]:
    """(chunks, total rows where the format says so). Errors reading the file are BadInputErrors."""
    reader = checked_reader(path)  # its checks name the problem (missing, folder, empty, unknown extension)
    inputs = model.version.signature.get("inputs", [])
    text = [c["name"] for c in inputs if c.get("kind") in ("categorical", "datetime")]
    try:
        total = reader.count_rows(Path(path))
    except (ValueError, pa.ArrowException, OSError) as exc:
        raise reader.cannot_read(Path(path), exc).with_field("INPUT") from None
    return _in_field(reader.load_chunks(path, chunk_rows, text_columns=text)), total


def _in_field(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks, with a file that cannot be read reported against INPUT."""
    try:
        yield from chunks
    except BadInputError as exc:
        if exc.field == "source":
            exc.field = "INPUT"
        raise


class _Writer:
    def __init__(self, tmp: Path, suffix: str) -> None:
        self.tmp, self.csv = tmp, suffix == ".csv"
        self.parquet: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.csv:
            frame.to_csv(self.tmp, index=False, mode="a" if self.rows else "w", header=not self.rows)
        else:
            if self.parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self.parquet = pq.ParquetWriter(self.tmp, table.schema)
            else:
                try:
                    table = pa.Table.from_pandas(frame, schema=self.parquet.schema, preserve_index=False)
                except (pa.ArrowException, ValueError) as exc:
                    raise BadInputError(f"Rows from {self.rows} on do not fit the column types of the first "
                                        f"chunk: {first_line(exc)}", field="INPUT",
                                        hint="Use a larger --chunk-rows or give the columns consistent types.") \
                        from None
            self.parquet.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()


def score_file(stores: Stores, ref: str, input_path: Path, output_path: Path, *,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, executor: str = "inline", max_workers: int | None = None,
               on_chunk: Callable[[int, int | None], None] | None = None) -> dict[str, Any]:
    output_path = Path(output_path)
    suffix = output_path.suffix.lower()
    if suffix not in WRITERS:
        raise BadInputError(f"Cannot write {output_path.name}: unknown extension {suffix!r}.", field="OUTPUT",
                            hint="Use .csv or .parquet.")
    if not output_path.parent.is_dir():
        raise BadInputError(f"Cannot write {output_path}: folder {output_path.parent} does not exist.",
                            field="OUTPUT", hint="Create the folder first or choose another path.")
    if chunk_rows < 1:
        raise BadInputError(f"chunk_rows must be at least 1; got {chunk_rows}.", field="chunk_rows")
    model = load_model(stores, ref)
    chunks, total = _chunks(Path(input_path), model, chunk_rows)
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    writer = _Writer(tmp, suffix)
    pool = get_executor(executor, max_workers, field="executor")
    in_flight: deque[Future] = deque()
    limit = 2 * (max_workers or 2)
    offset = 0
    try:
        for chunk in chunks:
            in_flight.append(pool.submit(score_frame, model, chunk, offset))
            offset += len(chunk)
            while len(in_flight) >= limit:
                _drain_one(in_flight, writer, total, on_chunk)
        while in_flight:
            _drain_one(in_flight, writer, total, on_chunk)
        writer.close()
        if writer.rows == 0:
            raise BadInputError(f"{input_path} holds no rows.", field="INPUT", hint="Give a file with rows.")
        tmp.replace(output_path)
    except BaseException:
        for future in in_flight:
            future.cancel()
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {"model_version": model.version.ref, "rows": writer.rows, "output": str(output_path)}


def _drain_one(in_flight: deque[Future], writer: _Writer, total: int | None,
               on_chunk: Callable[[int, int | None], None] | None) -> None:
    writer.write(in_flight.popleft().result())
    if on_chunk is not None:
        on_chunk(writer.rows, total)
