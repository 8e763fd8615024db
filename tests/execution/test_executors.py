"""Every executor kind passes the same contract; names resolve through the registry with "did you mean"."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import pytest

import conveyor as cv
from conveyor.core.errors import MissingDependencyError, NotFoundError
from conveyor.execution import EXECUTORS, get_executor
from conveyor.testing.executor_contract import ExecutorContract, check_executor

LOCAL = ["inline", "threads", "processes"]


@pytest.fixture(params=LOCAL)
def executor(request):
    pool = get_executor(request.param, max_workers=2)
    with pool:
        yield pool


class TestExecutorContract(ExecutorContract):
    pass


@pytest.mark.parametrize("kind", LOCAL)
def test_check_executor_passes_every_local_built_in(kind):
    """Ray runs the same check on a real cluster in tests/train/test_train_parallel.py."""
    assert len(check_executor(EXECUTORS.get(kind))) == 5


class Eager(Executor):
    """Breaks the contract: the call's exception escapes from submit."""

    def __init__(self, max_workers=None):
        pass

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_check_executor_names_the_rule_a_broken_executor_breaks():
    with pytest.raises(AssertionError, match="submit raised ValueError"):
        check_executor(Eager)


def test_every_built_in_is_registered_and_checking_a_name_imports_no_engine():
    code = ("import sys; from conveyor.execution import EXECUTORS, check_executor; check_executor('ray'); "
            "print(EXECUTORS.names()[:4], 'ray' in sys.modules, 'conveyor.execution.ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split("]")[1].split() == ["False", "False"]
    assert done.stdout.startswith("['inline', 'threads', 'processes', 'ray']")


def test_unknown_executor_says_did_you_mean_and_names_the_field():
    with pytest.raises(NotFoundError, match=r"Unknown executor 'rya'\. Did you mean 'ray'") as caught:
        get_executor("rya")
    assert caught.value.field == "CONVEYOR_EXECUTOR"
    with pytest.raises(NotFoundError, match="Known: inline, processes, ray, threads") as caught:
        get_executor("spark", field="train.executor")
    assert caught.value.field == "train.executor"


def test_a_mistyped_executor_setting_stops_the_project_from_opening(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "rya")
    with pytest.raises(NotFoundError, match="Unknown executor 'rya'"):
        cv.Project.open(tmp_path)


def test_ray_without_its_package_names_the_distributions_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'conveyor-mlops\[ray\]'") as caught:
        get_executor("ray")
    assert caught.value.field == "CONVEYOR_EXECUTOR"


def test_a_plug_in_executor_registered_by_name_runs_work():
    EXECUTORS.register("pool-of-two", lambda max_workers=None: ThreadPoolExecutor(2))
    try:
        with get_executor("pool-of-two") as pool:
            assert pool.submit(sum, [1, 2, 3]).result() == 6
    finally:
        EXECUTORS.unregister("pool-of-two")
