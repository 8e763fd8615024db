"""Pipelines: cache keys tied to content-addressed data, executors, retries and resume (real SQLite stores)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.data.datasets import ingest_frame
from conveyor.pipeline.loader import discover
from conveyor.pipeline.runner import resume_run, run_pipeline
from conveyor.store import Stores

STEPS = '''
import os
from pathlib import Path

import pandas as pd

from conveyor.pipeline import Pipeline

COUNTS = Path(os.environ["PIPELINE_COUNTS"])


def _count(name):
    with open(COUNTS, "a") as f:
        f.write(f"{name}:{os.getpid()}\\n")


flow = Pipeline("flow")


@flow.step(inputs={"frame": "dataset:sales@latest"}, outputs={"clean": "dataset"}, params={"floor": 0})
def clean(frame, floor):
    _count("clean")
    return frame[frame.amount >= floor].reset_index(drop=True)


@flow.step(inputs={"frame": "clean.clean"}, outputs={"total": "value"})
def total(frame):
    _count("total")
    return float(frame.amount.sum())


@flow.step(inputs={"frame": "dataset:regions@latest"}, outputs={"names": "value"})
def regions(frame):
    _count("regions")
    return sorted(frame.region)


@flow.step(inputs={"total": "total.total", "names": "regions.names"}, outputs={"report": "value"})
def report(total, names):
    _count("report")
    if Path(os.environ["PIPELINE_FAIL"]).exists():
        raise RuntimeError("injected failure")
    return {"total": total, "regions": len(names)}
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "flow.py").write_text(STEPS)
    monkeypatch.setenv("PIPELINE_COUNTS", str(tmp_path / "counts.txt"))
    monkeypatch.setenv("PIPELINE_FAIL", str(tmp_path / "fail"))
    return tmp_path


def executions(root: Path, pids: set[int] | None = None) -> list[str]:
    """The steps that ran since the last call (and, into ``pids``, the processes they ran in)."""
    path = root / "counts.txt"
    lines = path.read_text().split() if path.exists() else []
    path.write_text("")
    if pids is not None:
        pids.update(int(line.split(":")[1]) for line in lines)
    return sorted(line.split(":")[0] for line in lines)


def seed(stores: Stores, amounts: list[float]) -> None:
    ingest_frame(stores, pd.DataFrame({"amount": amounts}), "sales")
    ingest_frame(stores, pd.DataFrame({"region": ["north", "south"]}), "regions")


def test_an_unchanged_pipeline_runs_nothing_the_second_time(project: Path, stores: Stores) -> None:
    seed(stores, [1.0, -2.0, 3.0])
    flow = discover(project)["flow"]
    first = run_pipeline(stores, flow)
    assert first.status == "succeeded"
    assert executions(project) == ["clean", "regions", "report", "total"]
    assert first.outputs["report.report"]["value"] == {"total": 4.0, "regions": 2}
    second = run_pipeline(stores, flow)
    assert second.status == "succeeded" and second.id != first.id
    assert executions(project) == []  # every step was a cache hit: no step function ran
    assert [(s.step, s.cached) for s in stores.pipelines.steps(second.id)] == [
        ("clean", True), ("total", True), ("regions", True), ("report", True)]


def test_a_new_dataset_version_reruns_exactly_the_steps_downstream(project: Path, stores: Stores) -> None:
    seed(stores, [1.0, -2.0, 3.0])
    flow = discover(project)["flow"]
    run_pipeline(stores, flow)
    executions(project)
    ingest_frame(stores, pd.DataFrame({"amount": [1.0, 5.0]}), "sales")  # regions unchanged
    run = run_pipeline(stores, flow)
    assert executions(project) == ["clean", "report", "total"]
    steps = {s.step: s for s in stores.pipelines.steps(run.id)}
    assert steps["regions"].cached and not steps["clean"].cached
    assert run.outputs["report.report"]["value"] == {"total": 6.0, "regions": 2}


def test_a_new_version_with_the_same_effect_stops_at_the_unchanged_output(project: Path, stores: Stores) -> None:
    seed(stores, [1.0, -2.0, 3.0])
    flow = discover(project)["flow"]
    run_pipeline(stores, flow)
    executions(project)
    ingest_frame(stores, pd.DataFrame({"amount": [1.0, -7.0, 3.0]}), "sales")  # only a filtered row changed
    run_pipeline(stores, flow)
    assert executions(project) == ["clean"]  # clean's output has the same content id: downstream stays cached


def test_resume_after_a_failure_runs_only_what_is_left(project: Path, stores: Stores) -> None:
    seed(stores, [1.0, 2.0])
    flow = discover(project)["flow"]
    (project / "fail").touch()
    failed = run_pipeline(stores, flow)
    assert failed.status == "failed" and "step report failed" in (failed.error or "")
    assert "injected failure" in (failed.error or "")
    assert executions(project) == ["clean", "regions", "report", "total"]
    (project / "fail").unlink()
    resumed = resume_run(stores, flow, failed.id[:10])
    assert (resumed.id, resumed.status) == (failed.id, "succeeded")
    assert executions(project) == ["report"]
    report = {s.step: s for s in stores.pipelines.steps(failed.id)}["report"]
    assert (report.status, report.attempts, report.error) == ("succeeded", 2, None)
    with pytest.raises(BadInputError, match="nothing to resume"):
        resume_run(stores, flow, failed.id)


def test_retries_back_off_and_then_succeed(tmp_path: Path, stores: Stores) -> None:
    from conveyor.pipeline import Pipeline

    attempts: list[int] = []
    flaky = Pipeline("flaky")

    @flaky.step(retries=3, backoff="2s")
    def wobbly() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return len(attempts)

    waits: list[float] = []
    run = run_pipeline(stores, flaky, sleep=waits.append)
    assert run.status == "succeeded" and waits == [2.0, 4.0]
    (record,) = stores.pipelines.steps(run.id)
    assert (record.attempts, record.outputs["result"]["value"]) == (3, 3)


def test_steps_run_in_other_processes(project: Path, stores: Stores) -> None:
    seed(stores, [1.0, 2.0])
    flow = discover(project)["flow"]
    run = run_pipeline(stores, flow, executor="processes", max_workers=2)
    assert run.status == "succeeded", run.error
    pids: set[int] = set()
    assert executions(project, pids) == ["clean", "regions", "report", "total"]
    assert pids and os.getpid() not in pids
    assert run.outputs["report.report"]["value"] == {"total": 3.0, "regions": 2}


def test_a_step_that_raises_bad_input_is_recorded_and_the_error_reaches_the_caller(stores: Stores) -> None:
    from conveyor.pipeline import Pipeline

    calls: list[int] = []
    strict = Pipeline("strict")

    @strict.step(retries=3)
    def needs_setting() -> int:
        calls.append(1)
        raise BadInputError("No model to look after.", field="retrain.model")

    with pytest.raises(BadInputError, match="No model to look after") as caught:
        run_pipeline(stores, strict, sleep=lambda _s: None)
    assert caught.value.field == "retrain.model" and calls == [1]  # bad input is not retried
    (run,) = stores.pipelines.runs(pipeline="strict")
    assert run.status == "failed" and "No model to look after" in (run.error or "")


def test_an_unknown_dataset_reference_fails_the_step_and_names_it(project: Path, stores: Stores) -> None:
    flow = discover(project)["flow"]  # no dataset ingested
    with pytest.raises(ConveyorError):
        run_pipeline(stores, flow)
    (run,) = stores.pipelines.runs()
    steps = {s.step: s for s in stores.pipelines.steps(run.id)}
    assert run.status == "failed" and steps["clean"].status == "failed" and steps["report"].status == "pending"
