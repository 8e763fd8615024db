"""The workload both tracking workers perform, and the timing helper they share (standard library only)."""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager

N_RUNS = 100
N_PARAMS = 10
N_METRICS = 20
VALUES_LOGGED = N_RUNS * (N_PARAMS + N_METRICS)
LOG_OPERATION = f"{N_RUNS} runs x ({N_PARAMS} params + {N_METRICS} metrics)"
BATCH_SIZE = 1_000
SEARCH_METRIC = "m0"
SEARCH_LIMIT = 10
MODEL_NAME = "bench"
ALIAS = "champion"


def params(run: int) -> dict[str, str]:
    return {f"p{j}": f"value-{run}-{j}" for j in range(N_PARAMS)}


def metrics(run: int) -> dict[str, float]:
    """Deterministic, distinct values, so both sides agree on which run has the largest m0."""
    return {f"m{j}": ((run * 7919 + j * 104729) % 10_007) / 10_007 for j in range(N_METRICS)}


def batch() -> list[tuple[str, float, int]]:
    return [("loss", 1.0 / (step + 1), step) for step in range(BATCH_SIZE)]


def expected_top_run() -> int:
    return max(range(N_RUNS), key=lambda run: metrics(run)[SEARCH_METRIC])


def training_data():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y), X


def cpu_seconds() -> float:
    """time.process_time() plus the CPU of finished child processes (git, pip requirement inference, ...)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class Timings(dict):
    """{operation: {"wall": seconds, "cpu": seconds}}, filled by ``with timings.time(operation): ...``."""

    @contextmanager
    def time(self, operation: str):
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        self[operation] = {"wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu}
