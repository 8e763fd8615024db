"""Every executor kind passes the same contract."""

from __future__ import annotations

import pytest

import conveyor as cv
from conveyor.core.errors import BadInputError
from conveyor.execution import get_executor
from conveyor.testing.executor_contract import ExecutorContract


@pytest.fixture(params=["inline", "threads", "processes"])
def executor(request):
    pool = get_executor(request.param, max_workers=2)
    with pool:
        yield pool


class TestExecutorContract(ExecutorContract):
    pass


def test_unknown_executor_names_the_known_ones():
    with pytest.raises(BadInputError, match="inline, threads, processes"):
        get_executor("spark")


def test_a_mistyped_executor_setting_stops_the_project_from_opening(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "rya")
    with pytest.raises(BadInputError, match="Unknown executor 'rya'"):
        cv.Project.open(tmp_path)
