"""A run page's chart read of one long metric: the whole history (what the page read before) against the bounded
series (``RunStore.metric_series``, picked by the database), on SQLite and on a throwaway PostgreSQL.

    PYTHONPATH=src python bench/server/bench_metric_series.py [--steps 100000] [--points 1000] [--repeat 5]
        [--skip-postgres]

Prints the median wall and CPU seconds (this process's CPU: the client's share; PostgreSQL's own work is in the
wall time) of each read."""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator

from conveyor.core.entities import Metric, Run, new_id
from conveyor.store.stores import Stores


def _measure(stores: Stores, run_id: str, points: int, repeat: int) -> tuple[tuple[float, float], ...]:
    """(wall, CPU) medians of reading the whole history, then of reading the series."""
    return (_median(lambda: stores.runs.metric_history(run_id, "loss"), repeat),
            _median(lambda: stores.runs.metric_series(run_id, "loss", points), repeat))


def _median(read: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        read()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


@contextlib.contextmanager
def _database(backend: str, folder: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/metrics.db"
        return
    from conveyor.testing.postgres import postgres_server

    with postgres_server() as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    for backend in ("sqlite",) if args.skip_postgres else ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as folder, _database(backend, folder) as url:
            stores = Stores.open(url, f"{folder}/artifacts")
            try:
                run = stores.runs.create(Run(new_id(), "long"))
                stores.runs.log_metrics(run.id, [Metric("loss", 1 / (step + 1), step, 0.0)
                                                 for step in range(args.steps)])
                history, series = _measure(stores, run.id, args.points, args.repeat)
            finally:
                stores.close()
        print(f"{backend}: whole history ({args.steps} rows) wall {history[0]:.3f} s cpu {history[1]:.3f} s; "
              f"series ({args.points} points) wall {series[0]:.3f} s cpu {series[1]:.3f} s")


if __name__ == "__main__":
    main()
