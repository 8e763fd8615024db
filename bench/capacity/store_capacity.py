"""The store side of the capacity model: bytes per logged prediction, runs/s the metadata store takes, and artifact
throughput. Each function takes its sizes as arguments so a test can run it small (tests/bench/test_capacity_bench.py).

Everything goes through conveyor's store interfaces (``Stores.open``, ``PredictionStore.log``, the run store,
``ArtifactStore.put_file``/``get_bytes``), so a change behind them (a columnar prediction log, say) is measured
without touching this file; sizes are read from the disk (every file of the folder, SQLite write-ahead logs
checkpointed first) or from PostgreSQL's ``pg_database_size``, never from one table's name.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = 20
BATCH = 500  # records per PredictionStore.log call: the serving logger's default batch_size


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder``, after checkpointing (and truncating) the write-ahead log of every
    SQLite database there, so a row counts once whether it still sat in the WAL or not."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith(("-wal", "-shm", "-journal")):
            with open(path, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    continue
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prediction_records(count: int, *, start: int = 0, seed: int = 0) -> list[Any]:
    """``count`` records shaped like the server's: 20 float inputs, the prediction and both class probabilities,
    a 32-hex id, a full-precision latency, and one 32-hex request id per 32 rows (short request ids made rows 15%
    smaller than the served ones)."""
    from conveyor.core.entities import PredictionRecord, now

    rng = np.random.default_rng(seed + start)
    values = rng.normal(size=(count, FEATURES)).tolist()
    proba = rng.random(count).tolist()
    ids = os.urandom(16 * count).hex()
    requests = [os.urandom(16).hex() for _ in range((start + count) // 32 - start // 32 + 1)]
    latency = rng.random(count).tolist()
    at = now()
    names = [f"f{i}" for i in range(FEATURES)]
    return [PredictionRecord(ids[32 * i:32 * i + 32], "bench:1", dict(zip(names, values[i], strict=True)),
                             {"prediction": int(proba[i] > 0.5), "proba": {"0": 1 - proba[i], "1": proba[i]}},
                             at, latency[i], None, None, "primary", requests[(start + i) // 32 - start // 32])
            for i in range(count)]


def _pg_size(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def store_growth(db_url: str, rows: int, *, folder: Path | None = None) -> dict[str, Any]:
    """Log ``rows`` prediction records into the metadata store at ``db_url`` (batches of 500, as the serving logger
    writes them); the bytes it grew by (the SQLite ``folder``, or the PostgreSQL database), per row and per million."""
    from conveyor.store import Stores

    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capacity-art-") as art:
        stores = Stores.open(db_url, art)
        try:
            stores.predictions.log(prediction_records(1))  # the schema and first pages exist before we measure
            before = folder_bytes(folder) if folder is not None else _pg_size(db_url)
            wall = cpu = 0.0
            for start in range(0, rows, BATCH):
                batch = prediction_records(min(BATCH, rows - start), start=start)
                began, cpu0 = time.perf_counter(), _cpu()
                stores.predictions.log(batch)
                wall += time.perf_counter() - began
                cpu += _cpu() - cpu0
        finally:
            stores.close()
    after = folder_bytes(folder) if folder is not None else _pg_size(db_url)
    grown = after - before
    return {"rows": rows, "bytes": grown, "bytes_per_row": grown / rows, "gb_per_million": grown / rows * 1e6 / 1e9,
            "write_wall_s": wall, "write_cpu_s": cpu, "rows_per_s": rows / wall if wall else float("nan")}


def _run_logger(url: str, runs: int, barrier: Any, results: Any) -> None:
    from conveyor.core.entities import Metric, Run, new_id
    from conveyor.store import open_metadata_roles

    roles = open_metadata_roles(url)
    try:
        barrier.wait(timeout=120)
        began, cpu0 = time.perf_counter(), _cpu()
        for i in range(runs):
            run = roles.runs.create(Run(new_id(), f"capacity-{os.getpid()}-{i}"))
            roles.runs.log_params(run.id, {"lr": 0.1, "depth": 6, "family": "lightgbm"})
            roles.runs.log_metrics(run.id, [Metric(key, 0.5 + i / 1000, 0) for key in ("auc", "f1", "logloss")])
            roles.runs.end(run.id, "finished")
        results.put((time.perf_counter() - began, _cpu() - cpu0, began, time.perf_counter()))
    finally:
        roles.close()


def postgres_cpu(url: str) -> float | None:
    """CPU seconds the PostgreSQL server on ``url``'s port has used so far: its postmaster, the backends it has
    reaped (``children_*``) and those still running; None when it is not a local server we can see."""
    import psutil
    import sqlalchemy as sa

    port = sa.engine.make_url(url).port
    if not port:
        return None
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "-p" in cmdline and str(port) in cmdline and any(c.endswith("postgres") for c in cmdline[:1]):
            try:
                own = proc.cpu_times()
                total = own.user + own.system + own.children_user + own.children_system
                for child in proc.children():
                    try:
                        t = child.cpu_times()
                    except psutil.Error:  # gone between the listing and the read: its time is the postmaster's now
                        continue
                    total += t.user + t.system
                return total
            except psutil.Error:
                return None
    return None


def runs_throughput(url: str, processes: int, runs: int) -> dict[str, Any]:
    """``processes`` OS processes each log ``runs`` runs (create, 3 params, 3 metrics, end) on the store at ``url``,
    released together; runs/s is all runs over the time from the first start to the last finish."""
    from conveyor.store import open_metadata_roles

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    open_metadata_roles(url).close()  # the schema, before the processes race to use it
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_run_logger, args=(url, runs, barrier, results)) for _ in range(processes)]
    server_cpu = postgres_cpu(url) if url.startswith("postgresql") else None
    for worker in workers:
        worker.start()
    try:
        done = [results.get(timeout=300) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    failed = [w.exitcode for w in workers if w.exitcode]
    if failed:
        raise RuntimeError(f"a run-logging process exited with {failed}")
    if server_cpu is not None:
        after = postgres_cpu(url)
        server_cpu = after - server_cpu if after is not None else None
    span = max(d[3] for d in done) - min(d[2] for d in done)
    total = processes * runs
    cpu = sum(d[1] for d in done)
    roles = open_metadata_roles(url)
    try:  # read back: every run is there, finished, with its metrics (a lost write would flatter the figure)
        stored = [r for r in roles.runs.search() if r.name.startswith("capacity-")]
    finally:
        roles.close()
    complete = sum(r.status == "finished" and len(r.metrics) == 3 and len(r.params) == 3 for r in stored)
    if complete != total:
        raise RuntimeError(f"{total} runs were logged but {complete} are stored complete")
    return {"processes": processes, "runs": complete, "wall_s": span, "cpu_s": cpu, "runs_per_s": total / span,
            "runs_per_cpu_s": total / cpu if cpu else float("nan"), "server_cpu_s": server_cpu}


def artifact_throughput(store_url: str, mib: int, repeats: int = 2, env: dict[str, str] | None = None
                        ) -> dict[str, Any]:
    """Put a file of ``mib`` MiB (fresh random bytes each repeat, so none is deduplicated) with ``put_file`` and read
    it back with ``get_bytes`` (which verifies the hash); medians of MB/s and this process's CPU seconds."""
    from conveyor.store.backends import open_artifact_store

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        store = open_artifact_store(store_url)
        puts, gets, put_cpu, get_cpu = [], [], [], []
        with tempfile.TemporaryDirectory(prefix="capacity-blob-") as tmp:
            for _ in range(repeats):
                path = Path(tmp) / "blob.bin"
                path.write_bytes(os.urandom(mib * 2**20))
                began, cpu0 = time.perf_counter(), _cpu()
                digest = store.put_file(path)
                puts.append(time.perf_counter() - began)
                put_cpu.append(_cpu() - cpu0)
                began, cpu0 = time.perf_counter(), _cpu()
                data = store.get_bytes(digest)
                gets.append(time.perf_counter() - began)
                get_cpu.append(_cpu() - cpu0)
                assert len(data) == mib * 2**20
                del data
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    size = mib * 2**20 / 1e6
    return {"mib": mib, "repeats": repeats, "put_s": statistics.median(puts), "get_s": statistics.median(gets),
            "put_mb_s": size / statistics.median(puts), "get_mb_s": size / statistics.median(gets),
            "put_cpu_s": statistics.median(put_cpu), "get_cpu_s": statistics.median(get_cpu)}
