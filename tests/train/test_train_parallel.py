"""Parallel trials on executors: local processes and a real two-node Ray cluster (`ray start --head` plus
`ray start --address` on 127.0.0.1, the session's fixture); the results have the same form as an inline search.
Optuna's state can live in a journal file."""

from __future__ import annotations

import os
import threading
import time

import optuna
import pytest
from sklearn.datasets import load_breast_cancer

from conveyor.execution import get_executor
from conveyor.execution.ray import RayExecutor
from conveyor.testing.executor_contract import check_executor
from conveyor.train.automl import run_automl

FAMILIES = ["linear", "lightgbm", "extra_trees"]


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture
def ray_cluster(ray_two_nodes):
    """The session's two-node Ray cluster on 127.0.0.1 (tests/conftest.py): 1 CPU a node, one logical GPU."""
    return ray_two_nodes.address


def same_form(parallel, inline) -> None:
    assert type(parallel) is type(inline)
    assert parallel.task == inline.task and parallel.metric == inline.metric
    assert parallel.validation == inline.validation == "5-fold CV"
    assert len(parallel.trials) == len(inline.trials)
    assert {t.family for t in parallel.trials} <= set(FAMILIES)
    for trial in parallel.trials:
        assert trial.state in ("complete", "pruned", "failed") and trial.seconds > 0
    assert set(parallel.holdout_metrics) == set(inline.holdout_metrics)
    assert parallel.holdout_metrics["roc_auc"] > 0.95


@pytest.fixture(scope="module")
def inline_result(cancer):
    return run_automl(cancer, "target", max_trials=5, budget_seconds=300, families=FAMILIES, seed=4)


def test_trials_run_in_local_processes(cancer, inline_result):
    with get_executor("processes", 2) as pool:
        result = run_automl(cancer, "target", max_trials=5, budget_seconds=300, families=FAMILIES, seed=4,
                            executor=pool, workers=2)
    same_form(result, inline_result)


@pytest.mark.slow
def test_a_search_runs_on_a_real_ray_cluster(ray_cluster, cancer, inline_result):
    executor = RayExecutor(2, address=ray_cluster)
    try:
        import ray

        assert ray.cluster_resources().get("CPU") == 2  # the cluster the fixture started, not a local one
        result = run_automl(cancer, "target", max_trials=5, budget_seconds=300, families=FAMILIES, seed=4,
                            executor=executor, workers=2)
    finally:
        executor.shutdown()
    same_form(result, inline_result)
    # the warm starts come first whatever runs them, so the same default configurations were tried
    assert [t.family for t in result.trials[:3]] == [t.family for t in inline_result.trials[:3]]


@pytest.mark.slow
def test_the_ray_executor_keeps_the_executor_contract(ray_cluster):
    assert len(check_executor(lambda max_workers: RayExecutor(max_workers, address=ray_cluster))) == 5


@pytest.mark.slow
def test_trials_asking_for_a_gpu_each_wait_for_the_clusters_one_gpu(ray_cluster, cancer, inline_result):
    """num_gpus per trial: the cluster has one (logical) GPU, so of two workers' trials one runs at a time, and it
    holds the GPU; without it both CPUs would be busy at once."""
    import ray

    executor = RayExecutor(2, address=ray_cluster, num_cpus=1, num_gpus=1)
    seen: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            free = ray.available_resources()
            seen.append((free.get("CPU", 0.0), free.get("GPU", 0.0)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    try:
        sampler.start()
        result = run_automl(cancer, "target", max_trials=5, budget_seconds=300, families=FAMILIES, seed=4,
                            executor=executor, workers=2)
    finally:
        done.set()
        sampler.join()
        executor.shutdown()
    same_form(result, inline_result)
    assert min(gpu for _, gpu in seen) == 0  # a trial held the GPU
    assert min(cpu for cpu, _ in seen) >= 1  # and never two trials at once


def test_study_state_can_live_in_a_journal_file(cancer, tmp_path):
    journal = str(tmp_path / "study.log")
    result = run_automl(cancer, "target", max_trials=3, budget_seconds=300, families=["linear"], seed=1,
                        storage=journal, study_name="cancer-search")
    study = optuna.load_study(study_name="cancer-search",
                              storage=optuna.storages.JournalStorage(
                                  optuna.storages.journal.JournalFileBackend(journal)))
    assert len(study.trials) == len(result.trials) == 3


def test_study_state_can_live_in_postgresql_for_workers_on_other_hosts(cancer, postgres_db_url):
    result = run_automl(cancer, "target", max_trials=3, budget_seconds=300, families=["linear"], seed=1,
                        storage=postgres_db_url, study_name="shared-search")
    storage = optuna.storages.RDBStorage(url=postgres_db_url)
    try:
        study = optuna.load_study(study_name="shared-search", storage=storage)
        assert [t.number for t in study.trials] == [t.number for t in result.trials]
        assert study.best_value == pytest.approx(max(t.score for t in result.trials))
    finally:
        storage.engine.dispose()



RAY_PIPELINE = '''
import os

from conveyor.pipeline import Pipeline

fan = Pipeline("fan")


@fan.step(inputs={"n": "value:3"}, outputs={"pid": "value"})
def left(n):
    return [os.getpid(), n]


@fan.step(inputs={"n": "value:4"}, outputs={"pid": "value"})
def right(n):
    return [os.getpid(), n]


@fan.step(inputs={"a": "left.pid", "b": "right.pid"}, outputs={"sum": "value"})
def join(a, b):
    return {"sum": a[1] + b[1], "pids": [a[0], b[0], os.getpid()]}
'''


@pytest.mark.slow
def test_pipeline_steps_run_as_ray_tasks(ray_cluster, tmp_path, monkeypatch):
    from conveyor.pipeline.loader import discover
    from conveyor.pipeline.runner import run_pipeline
    from conveyor.store import Stores

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "fan.py").write_text(RAY_PIPELINE)
    stores = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    try:
        run = run_pipeline(stores, discover(tmp_path)["fan"], executor="ray", max_workers=2)
        assert run.status == "succeeded", run.error
        result = run.outputs["join.sum"]["value"]
        assert result["sum"] == 7 and os.getpid() not in result["pids"]  # every step ran in a Ray worker
        again = run_pipeline(stores, discover(tmp_path)["fan"], executor="ray", max_workers=2)
        assert all(s.cached for s in stores.pipelines.steps(again.id))
    finally:
        stores.close()
