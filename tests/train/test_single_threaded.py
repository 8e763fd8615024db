"""Every fit of a search runs with native thread pools (OpenMP, BLAS) at one thread, as each family's own
``n_jobs=1``: in the search's process, in worker processes started before it, and in the refits; the caller's own
pools are given back afterwards. (HistGradientBoosting's OpenMP threads beside a busy core once took 48 s for one
fold that takes 1.7 s on one thread.)"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime, so there is a pool to check)
from sklearn.dummy import DummyRegressor
from threadpoolctl import threadpool_info, threadpool_limits

from conveyor.execution import get_executor
from conveyor.train.automl import run_automl
from conveyor.train.families import FAMILIES, Family


def pool_threads() -> dict[str, int]:
    return {f"{pool['internal_api']}:{pool['filepath']}": pool["num_threads"] for pool in threadpool_info()}


class ThreadCheckingRegressor(DummyRegressor):
    """Refuses to fit (a failed fold, or a failed refit) unless every native pool is at one thread."""

    def fit(self, X, y):
        wide = {name: n for name, n in pool_threads().items() if n != 1}
        if wide:
            raise ValueError(f"native thread pools above one thread in pid {os.getpid()}: {wide}")
        return super().fit(X, y)


class ThreadCheckingFamily(Family):
    name = "thread_checking_stub"
    tasks = ("regression",)
    requires = ()
    defaults = {"strategy": "mean"}
    default = False

    def suggest(self, trial, ctx):
        return {"strategy": trial.suggest_categorical(f"{self.name}.strategy", ["mean", "median"])}

    def build(self, ctx, params, seed):
        return ThreadCheckingRegressor(strategy=params["strategy"])


FAMILIES.register("thread_checking_stub", ThreadCheckingFamily(), replace=True)


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=200)})


def _noop() -> int:
    return os.getpid()


def test_the_search_and_its_refits_hold_every_native_pool_at_one_thread_and_give_the_caller_s_back():
    with threadpool_limits(limits=2):
        before = pool_threads()
        assert before and all(n == 2 for n in before.values())  # the check below could fail
        result = run_automl(frame(), "y", families=["thread_checking_stub"], max_trials=4, budget_seconds=60)
        assert pool_threads() == before
    assert [t.state for t in result.trials] == ["complete"] * 4, [t.error for t in result.trials]
    assert result.training_rows == 200  # both refits ran (each would have raised with wide pools)


def test_worker_processes_started_before_the_search_hold_one_thread_too():
    with threadpool_limits(limits=2), get_executor("processes", 2) as pool:
        workers = {pool.submit(_noop).result() for _ in range(4)}  # forked now, with pools at two threads
        result = run_automl(frame(), "y", families=["thread_checking_stub"], max_trials=4, budget_seconds=60,
                            executor=pool, workers=2)
    assert os.getpid() not in workers
    assert [t.state for t in result.trials] == ["complete"] * 4, [t.error for t in result.trials]
