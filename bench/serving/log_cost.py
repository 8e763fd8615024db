"""Where a logged row's CPU goes: the serving process's write vs a reader's drain, in process, on SQLite.

    PYTHONPATH=src python bench/serving/log_cost.py [--requests 2048] [--rows 32] [--features 20] [--flush 4096]

Builds the batches the serving path hands the log (one per request: ids and their 32-character block, a float
matrix, predictions, two class probabilities as a float matrix), then times with ``time.process_time`` (this
thread's process, nothing else running in it):
the old write (``SqlPredictionStore.log_batches``: rows of JSON into SQLite), the new write (one Parquet segment
per flush) and the drain a reader pays (segments into the same table). Prints CPU microseconds per request.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from conveyor.store import open_metadata_roles
from conveyor.store.prediction_segments import SegmentedPredictionStore
from conveyor.store.predictions import PredictionBatch


def batches(requests: int, rows: int, features: int) -> list[PredictionBatch]:
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(features)]
    out = []
    for _ in range(requests):
        proba = rng.random(rows)
        id_text = os.urandom(16 * rows).hex()  # as conveyor.serve.scoring.prediction_ids makes them
        out.append(PredictionBatch([id_text[i:i + 32] for i in range(0, 32 * rows, 32)], "bench:1", time.time(), 0.4,
                                   names, None, (proba > 0.5).astype(int).tolist(), ["0", "1"],
                                   np.column_stack([1 - proba, proba]), matrix=rng.normal(size=(rows, features)),
                                   id_text=id_text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2048)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--flush", type=int, default=4096, help="rows per write (the logger's batch_size)")
    args = parser.parse_args()
    work = batches(args.requests, args.rows, args.features)
    per_flush = max(1, args.flush // args.rows)
    flushes = [work[i:i + per_flush] for i in range(0, len(work), per_flush)]
    with tempfile.TemporaryDirectory() as folder:
        old = open_metadata_roles(f"sqlite:///{Path(folder) / 'old.db'}")
        new = open_metadata_roles(f"sqlite:///{Path(folder) / 'new.db'}")
        segmented = SegmentedPredictionStore(new.predictions, Path(folder) / "new.db-segments")
        segmented.write_segment(flushes[0][:1])  # imports pyarrow outside the clock
        segmented.drain()
        begun = time.process_time()
        for flush in flushes:
            old.predictions.log_batches(flush)
        old_write = time.process_time() - begun
        begun = time.process_time()
        for flush in flushes:
            segmented.write_segment(flush)
        new_write = time.process_time() - begun
        size = sum(p.stat().st_size for p in segmented.pending())
        begun = time.process_time()
        drained = segmented.drain()
        drain = time.process_time() - begun
        assert drained == len(work) * args.rows
        db_size = (Path(folder) / "old.db").stat().st_size
        old.close()
        new.close()
    us = 1e6 / len(work)
    print(f"{len(work)} requests x {args.rows} rows x {args.features} floats, {per_flush} requests per write")
    print("| step | who pays | CPU us per request | per row |")
    print("|---|---|---:|---:|")
    for name, who, seconds in [("old: rows into SQLite (log_batches)", "serving process", old_write),
                               ("new: one Parquet segment per flush", "serving process", new_write),
                               ("new: drain segments into SQLite", "the next reader", drain)]:
        print(f"| {name} | {who} | {seconds * us:,.0f} | {seconds * us / args.rows:.1f} |")
    rows = len(work) * args.rows
    print(f"bytes per row: segments {size / rows:.0f}, SQLite table {db_size / rows:.0f}")


if __name__ == "__main__":
    main()
