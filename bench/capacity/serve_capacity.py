"""The serving side of the capacity model: predictions/s one `conveyor serve` replica (one worker, pinned to one
core) answers, per wall second and per CPU second of its process tree, for 1-row and 32-row requests, with the
prediction log on and off; and the bytes the project grew by per prediction the served path logged.

The model, the project and the load generator are the serving benchmark's (``bench/serving``: one LightGBM
booster, 20 features, 100 trees; keep-alive connections for a fixed time), imported from there, not copied.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "serving"))

from bench_serving import Server, free_port, setup_conveyor, train, v2_body  # noqa: E402
from loadgen import build_request, run_load  # noqa: E402
from store_capacity import folder_bytes  # noqa: E402


def _logged_rows(project: Path) -> int | None:
    """Rows in a ``predictions`` table of the project's SQLite files (a cross-check of what was sent; None when the
    log keeps its rows elsewhere)."""
    found = None
    for path in project.rglob("*"):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                continue
        conn = sqlite3.connect(path)
        try:
            found = (found or 0) + conn.execute("SELECT count(*) FROM predictions").fetchone()[0]
        except sqlite3.Error:
            pass
        finally:
            conn.close()
    return found


def serve_cells(project: Path, X: Any, *, log: bool, seconds: float, concurrency: int,
                rows_list: tuple[int, ...] = (1, 32)) -> tuple[list[dict[str, Any]], int]:
    """Start one replica on ``project``, drive it with ``rows_list`` rows per request; the cells, and how many
    predictions were answered in all (warm-ups included: every one of them is logged when ``log``)."""
    port = free_port()
    extra = [] if log else ["--no-log"]
    server = Server("conveyor", [sys.executable, "-m", "conveyor", "serve", "bench@champion", "--port", str(port),
                                 "--project", str(project), *extra], port, "/health",
                    env={"PYTHONPATH": str(ROOT / "src")})
    cells, answered = [], 0
    try:
        server.wait()
        for rows in rows_list:
            body = v2_body(np.asarray(X.head(rows).to_numpy()), "x")
            request = build_request("127.0.0.1", port, "/v2/models/bench/infer", body)
            warm = run_load("127.0.0.1", port, request, concurrency, 1.0)
            answered += (warm.requests - warm.errors) * rows
            cpu = server.cpu_seconds()
            result = run_load("127.0.0.1", port, request, concurrency, seconds)
            cpu = server.cpu_seconds() - cpu
            ok = result.requests - result.errors
            answered += ok * rows
            cells.append({"log": log, "rows": rows, "concurrency": concurrency, "requests": ok,
                          "errors": result.errors, "wall_s": result.seconds, "cpu_s": cpu,
                          "predictions_per_s": ok * rows / result.seconds,
                          "predictions_per_cpu_s": ok * rows / cpu if cpu else float("nan"),
                          "p99_ms": result.percentile(0.99) * 1000, "first_error": result.first_error})
            print(f"  serve log={'on' if log else 'off'} rows={rows}: {cells[-1]['predictions_per_s']:,.0f} pred/s, "
                  f"{cells[-1]['predictions_per_cpu_s']:,.0f} per CPU-s, errors {result.errors}", file=sys.stderr)
    finally:
        server.stop()  # SIGTERM: the server writes what its prediction log still holds before it exits
    return cells, answered


def serving_capacity(root: Path, *, seconds: float, concurrency: int = 16, server_cpu: int = 0,
                     loadgen_cpu: int = 1) -> dict[str, Any]:
    """Both replicas (log on, log off) on the same project; the project's growth over the logged one."""
    root.mkdir(parents=True, exist_ok=True)
    booster, X = train(root)
    project = setup_conveyor(root, booster, versions=1)
    affinity = os.sched_getaffinity(0)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {loadgen_cpu})  # servers run under `taskset -c 0` (bench_serving.Server)
    try:
        before = folder_bytes(project)
        logged_cells, answered = serve_cells(project, X, log=True, seconds=seconds, concurrency=concurrency)
        grown = folder_bytes(project) - before
        stored = _logged_rows(project)
        plain_cells, _ = serve_cells(project, X, log=False, seconds=seconds, concurrency=concurrency)
    finally:
        os.sched_setaffinity(0, affinity)
    return {"cells": logged_cells + plain_cells, "logged_predictions": answered, "rows_found": stored,
            "bytes": grown, "bytes_per_row": grown / answered if answered else float("nan"),
            "server_cpu": server_cpu, "loadgen_cpu": loadgen_cpu}
