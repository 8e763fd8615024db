"""Parallel trials on executors: local processes and a real Ray cluster started with `ray start --head` on
127.0.0.1; the results have the same form as an inline search. Optuna's state can live in a journal file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import psutil
import pytest
from sklearn.datasets import load_breast_cancer

from conveyor.execution import get_executor
from conveyor.execution.ray import RayExecutor
from conveyor.testing.executor_contract import check_executor
from conveyor.train.automl import run_automl

SRC = str(Path(__file__).resolve().parents[2] / "src")
FAMILIES = ["linear", "lightgbm", "extra_trees"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster on 127.0.0.1, in its own short temp dir (Ray's socket paths must stay short).
    Workers import conveyor from this checkout. Teardown ends exactly the processes of this cluster."""
    # the ray CLI of this interpreter's environment: the test command runs .venv/bin/python without activating it
    bin_dir = os.path.dirname(sys.executable)
    ray_bin = shutil.which("ray", path=bin_dir) or shutil.which("ray")
    assert ray_bin, "the ray CLI comes with the extra 'ray' (ray[default])"
    temp_dir = tempfile.mkdtemp(prefix="cvray-", dir="/tmp")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
           "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run(
        [ray_bin, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false",
         "--dashboard-host=127.0.0.1", f"--temp-dir={temp_dir}", "--num-cpus=2", "--disable-usage-stats",
         f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}"],
        env=env, capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        ours = [p for p in psutil.process_iter(["cmdline"])
                if any(temp_dir in (arg or "") for arg in (p.info["cmdline"] or []))]
        for process in ours:
            try:
                process.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(ours, timeout=10)
        for process in alive:
            process.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


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


def test_the_ray_executor_keeps_the_executor_contract(ray_cluster):
    assert len(check_executor(lambda max_workers: RayExecutor(max_workers, address=ray_cluster))) == 5


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
