"""The Ray executor on a real two-node cluster (`ray start --head` plus `ray start --address`, 127.0.0.1, 1 CPU
each, one logical GPU on the head): the executor contract, work spread over both nodes, batch scoring and pipeline
steps with the same results as inline, per-task CPUs and GPUs; and an address where nothing answers fails at once."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.core.errors import BadInputError
from conveyor.data.datasets import ingest_frame
from conveyor.execution import get_executor
from conveyor.execution.ray import RayExecutor
from conveyor.pipeline.loader import discover
from conveyor.pipeline.runner import run_pipeline
from conveyor.registry.models import register_model
from conveyor.serve.batch import score_file
from conveyor.store import Stores
from conveyor.testing.executor_contract import ExecutorContract
from conveyor.testing.ray import RayCluster, placement


@pytest.fixture
def cluster_env(ray_two_nodes: RayCluster, monkeypatch: pytest.MonkeyPatch) -> RayCluster:
    """RAY_ADDRESS points at the session's cluster, as a user sets it, and nothing in this process is connected."""
    import ray

    assert not ray.is_initialized()
    monkeypatch.setenv("RAY_ADDRESS", ray_two_nodes.address)
    return ray_two_nodes


@pytest.mark.slow
class TestRayExecutorContract(ExecutorContract):
    @pytest.fixture
    def executor(self, cluster_env: RayCluster) -> Iterator[RayExecutor]:
        pool = get_executor("ray", max_workers=2)
        assert isinstance(pool, RayExecutor)
        with pool:
            yield pool


@pytest.mark.slow
def test_the_cluster_has_two_nodes_and_tasks_run_on_both(cluster_env: RayCluster) -> None:
    import ray

    with get_executor("ray", 2) as pool:
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        assert ray.cluster_resources().get("CPU") == 2 and ray.cluster_resources().get("GPU") == 1
        # one CPU a node and one a task: two tasks in flight at once must take a node each
        placed = [f.result(timeout=120) for f in [pool.submit(placement, 2.0) for _ in range(2)]]
    assert len({p["node"] for p in placed}) == 2
    assert all(p["resources"] == {"CPU": 1.0} and p["pid"] != os.getpid() for p in placed)


@pytest.mark.slow
def test_tasks_get_the_cpus_and_gpus_they_ask_for(cluster_env: RayCluster) -> None:
    import ray

    with RayExecutor(2, num_cpus=1, num_gpus=1) as pool:
        head = ray.get_runtime_context().get_node_id()  # the driver's node is the head, the one with the GPU
        placed = [f.result(timeout=120) for f in [pool.submit(placement, 0.5) for _ in range(3)]]
    assert all(p["resources"] == {"CPU": 1.0, "GPU": 1.0} and p["gpus"] == [0] for p in placed)
    assert {p["node"] for p in placed} == {head}  # only the head has a GPU: every task waited for it there


@pytest.fixture
def scored_model(stores: Stores, tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=3000), "z": rng.normal(size=3000)})
    model = LogisticRegression().fit(frame, (frame.x + 0.3 * frame.z > 0).astype(int))
    register_model(stores, model, "m", input_example=frame.head())
    frame.to_csv(tmp_path / "in.csv", index=False)
    return tmp_path / "in.csv"


@pytest.mark.slow
def test_batch_scoring_on_the_cluster_gives_what_inline_gives(cluster_env: RayCluster, stores: Stores,
                                                              scored_model: Path, tmp_path: Path) -> None:
    inline = score_file(stores, "m", scored_model, tmp_path / "inline.parquet", chunk_rows=500)
    on_ray = score_file(stores, "m", scored_model, tmp_path / "ray.parquet", chunk_rows=500, executor="ray",
                        max_workers=2)
    assert inline["rows"] == on_ray["rows"] == 3000
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray.parquet"),
                                  pd.read_parquet(tmp_path / "inline.parquet"))


STEPS = '''
import os

import ray

from conveyor.pipeline import Pipeline

flow = Pipeline("flow")


@flow.step(inputs={"frame": "dataset:sales@latest"}, outputs={"clean": "dataset"}, params={"floor": 0})
def clean(frame, floor):
    return frame[frame.amount >= floor].reset_index(drop=True)


@flow.step(inputs={"frame": "clean.clean"}, outputs={"total": "value", "where": "value"})
def total(frame):
    where = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "inline"
    return {"total": float(frame.amount.sum()), "where": [where, os.getpid()]}


@flow.step(inputs={"total": "total.total"}, outputs={"report": "value"})
def report(total):
    return {"total": total, "double": 2 * total}
'''


@pytest.mark.slow
def test_pipeline_steps_on_the_cluster_give_what_inline_gives(cluster_env: RayCluster, stores: Stores,
                                                             tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "flow.py").write_text(STEPS)
    ingest_frame(stores, pd.DataFrame({"amount": [1.0, -2.0, 3.0, 4.5]}), "sales")
    flow = discover(tmp_path)["flow"]
    inline = run_pipeline(stores, flow, use_cache=False)
    on_ray = run_pipeline(stores, flow, executor="ray", max_workers=2, use_cache=False)
    assert inline.status == on_ray.status == "succeeded", on_ray.error
    assert on_ray.outputs["report.report"] == inline.outputs["report.report"]
    assert on_ray.outputs["report.report"]["value"] == {"total": 8.5, "double": 17.0}
    assert on_ray.outputs["clean.clean"] == inline.outputs["clean.clean"]  # the same dataset version, by content
    node, pid = on_ray.outputs["total.where"]["value"]
    assert inline.outputs["total.where"]["value"][0] == "inline"
    assert node != "inline" and pid != os.getpid()  # the step ran in a Ray worker


def test_an_address_where_nothing_answers_fails_within_seconds() -> None:
    import ray

    assert not ray.is_initialized()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nothing listens on it
    began = time.monotonic()
    with pytest.raises(BadInputError, match=rf"No Ray cluster at '127.0.0.1:{port}': nothing answers") as caught:
        RayExecutor(address=f"127.0.0.1:{port}")
    assert time.monotonic() - began < 30  # bounded by the probe, not by Ray's minutes of reconnecting
    assert caught.value.field == "RAY_ADDRESS" and "ray start --head" in str(caught.value)
    assert not ray.is_initialized()


def test_gpus_per_task_are_refused_by_executors_that_cannot_give_them(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInputError, match="The 'processes' executor cannot give each task 1 GPU"):
        get_executor("processes", 2, num_cpus=1, num_gpus=1)
    with get_executor("threads", 2, num_cpus=2, num_gpus=0) as pool:
        assert pool.submit(sum, [1, 2]).result() == 3
    monkeypatch.setenv("CONVEYOR_RAY_NUM_GPUS", "one")
    with pytest.raises(BadInputError, match="CONVEYOR_RAY_NUM_GPUS='one' is not a number"):
        RayExecutor(address="127.0.0.1:1")


def test_the_train_sections_trial_gpus_reach_the_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """train.trial_cpus/trial_gpus become each trial task's resources; an executor that has no GPUs refuses."""
    import conveyor as cv
    from conveyor.project._options import train_options

    (tmp_path / "conveyor.yaml").write_text("train:\n  executor: processes\n  workers: 2\n  trial_gpus: 1\n")
    monkeypatch.delenv("CONVEYOR_EXECUTOR", raising=False)
    with cv.Project.open(tmp_path) as project:
        assert (project.config.train.trial_cpus, project.config.train.trial_gpus) == (1.0, 1.0)
        with pytest.raises(BadInputError, match="cannot give each task 1 GPU") as caught:
            train_options(project)
    assert "train.trial_gpus" in str(caught.value)


@pytest.mark.slow
def test_the_train_sections_trial_resources_make_the_ray_tasks(cluster_env: RayCluster, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import conveyor as cv
    from conveyor.project._options import train_options

    (tmp_path / "conveyor.yaml").write_text("train:\n  executor: ray\n  workers: 2\n  trial_gpus: 0.5\n")
    monkeypatch.delenv("CONVEYOR_EXECUTOR", raising=False)
    with cv.Project.open(tmp_path) as project:
        pool = train_options(project)["executor"]
        with pool:
            assert isinstance(pool, RayExecutor) and (pool.num_cpus, pool.num_gpus) == (1.0, 0.5)
            assert pool.submit(placement).result(timeout=120)["resources"] == {"CPU": 1.0, "GPU": 0.5}
