"""The flat methods of Project 0.1 stay one release: each warns with DeprecationWarning naming its new call and
forwards its arguments (and the new call's result) unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

import conveyor as cv
from conveyor.project._deprecated import ALIASES


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []
        self.result = ("a result", True)

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.result


@pytest.fixture
def project(tmp_path):
    with cv.Project.init(tmp_path) as project:
        yield project


@pytest.mark.parametrize(("old", "new"), sorted(ALIASES.items()))
def test_each_flat_method_warns_and_forwards(project, monkeypatch, old, new):
    api, _, method = new.partition(".")
    recorder = Recorder()
    monkeypatch.setattr(getattr(project, api), method, recorder)
    with pytest.warns(DeprecationWarning, match=rf"Project\.{old}\(\) is deprecated .*use project\.{new}\(\)"):
        result = getattr(project, old)("first", 2, key="value")
    assert recorder.calls == [(("first", 2), {"key": "value"})]
    expected = recorder.result[0] if old == "ingest" else recorder.result  # ingest returned the version alone
    assert result == expected


def test_the_aliases_cover_every_flat_method_of_0_1():
    flat_0_1 = {"ingest", "dataset", "datasets", "load_frame", "start_run", "run", "runs", "train", "model",
                "models", "aliases", "load_model", "promote", "rollback", "import_model", "audit", "verify_audit",
                "monitor", "retrain", "evaluation", "report", "model_card", "reference_stats", "alert_rules",
                "evaluate_alerts", "alerts", "ack_alert", "resource_sampler", "agent", "ingest_source", "add_files",
                "checkout", "contract_path", "write_contract", "validate", "data_log", "diff", "diff_html",
                "lineage", "scan_pii", "filter_dataset", "split_dataset", "join_datasets", "build_features",
                "setting"}
    kept = set(ALIASES) | {"runs", "models", "setting"}  # runs(...) and models(...): the sub-APIs are callable
    assert flat_0_1 <= kept


def test_a_real_call_through_an_alias_still_works(project):
    with pytest.warns(DeprecationWarning, match=r"use project\.data\.ingest\(\)"):
        version = project.ingest(pd.DataFrame({"a": [1, 2, 3]}), "tiny")
    assert version.rows == 3 and project.data.get("tiny") == version
    with pytest.warns(DeprecationWarning, match=r"use project\.runs\.list\(\.\.\.\)"):
        assert project.runs() == []
    with pytest.warns(DeprecationWarning, match=r"use project\.models\.list\(\.\.\.\)"):
        assert project.models() == []
    with pytest.warns(DeprecationWarning, match=r"use project\.config\.train\.budget"):
        assert project.setting("train", "budget") == 60.0
