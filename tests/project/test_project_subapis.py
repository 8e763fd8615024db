"""The Project's sub-APIs: named like the CLI's nouns, each a Protocol that its local implementation (and later a
remote client) follows, made once per project; the retraining options are assembled once for every verb."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.project import (
    DataAPI,
    FeaturesAPI,
    LocalData,
    LocalFeatures,
    LocalModels,
    LocalMonitoring,
    LocalRuns,
    LocalTraining,
    ModelsAPI,
    MonitoringAPI,
    RunsAPI,
    TrainingAPI,
)
from conveyor.registry.models import register_model

PAIRS = [("data", DataAPI, LocalData), ("runs", RunsAPI, LocalRuns), ("models", ModelsAPI, LocalModels),
         ("monitoring", MonitoringAPI, LocalMonitoring), ("training", TrainingAPI, LocalTraining),
         ("features", FeaturesAPI, LocalFeatures)]


def public(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


@pytest.mark.parametrize(("attribute", "protocol", "local"), PAIRS)
def test_each_local_sub_api_is_exactly_its_protocol(attribute, protocol, local):
    assert public(local) == public(protocol)  # same methods, same parameters, same defaults


@pytest.mark.parametrize(("attribute", "protocol", "local"), PAIRS)
def test_a_project_makes_each_sub_api_once(tmp_path, attribute, protocol, local):
    with cv.Project.init(tmp_path / "a") as first, cv.Project.init(tmp_path / "b") as second:
        api = getattr(first, attribute)
        assert isinstance(api, local) and getattr(first, attribute) is api
        assert getattr(second, attribute) is not api and getattr(second, attribute).root == second.root


def test_method_names_follow_the_cli_verbs():
    assert {"ingest", "add", "list", "log", "get", "diff", "validate", "contract", "filter", "split", "scan",
            "checkout"} <= set(public(DataAPI))
    assert {"list", "get", "compare", "report"} <= set(public(RunsAPI))
    assert {"list", "get", "promote", "rollback", "import_", "audit"} <= set(public(ModelsAPI))
    assert {"monitor", "alerts", "ack", "agent"} <= set(public(MonitoringAPI))
    assert {"train", "retrain"} <= set(public(TrainingAPI))
    assert {"apply", "list", "show", "join", "materialize", "get"} <= set(public(FeaturesAPI))


@pytest.fixture
def registered(tmp_path):
    """A project with a model logged by the user's own code (no AutoML), promoted to champion."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = (frame["a"] > 0).astype(int)
    with cv.Project.init(tmp_path) as project:
        data, created = project.data.ingest(frame, "toy")
        assert created and project.data.ingest(frame, "toy") == (data, False)
        with project.runs.start(name="own", dataset=data) as run:
            model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
            version = run.log_model(model, "toy", input_example=frame[["a", "b"]].head())
        project.models.promote(version.ref, "champion")
        yield project, run.id, version


def test_a_model_ref_resolves_to_the_run_that_produced_it(registered):
    project, run_id, version = registered
    for ref in (run_id, run_id[:10], version.ref, "toy@champion", "toy"):
        assert project.runs.resolve(ref).id == run_id
    with pytest.raises(NotFoundError, match="Unknown run"):
        project.runs.resolve("ffffffffff")
    with pytest.raises(BadInputError, match="has no evaluation"):  # a run of the user's own code: no report
        project.runs.report("toy@champion", project.root / "r.html")
    loner = register_model(project.stores, LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "loner")
    with pytest.raises(BadInputError, match="records no run"):
        project.runs.resolve(loner.ref)


def test_the_data_sub_api_writes_the_diff_page_where_asked(registered, tmp_path):
    project, _, _ = registered
    shifted = project.data.load_frame("toy").assign(a=lambda f: f["a"] + 3)
    newer, _ = project.data.ingest(shifted, "toy")
    result = project.data.diff("toy@" + project.data.list("toy")[0].version, newer.ref, html=tmp_path / "d.html")
    assert result["html"] == str(tmp_path / "d.html") and "<html" in (tmp_path / "d.html").read_text().lower()
    assert [c["column"] for c in result["columns"] if c["shifted"]] == ["a"]


def test_retraining_options_are_assembled_once_for_retrain_and_the_agent(tmp_path, monkeypatch):
    from conveyor.pipeline import retrain as retraining

    with cv.Project.init(tmp_path) as project:
        project.configure("data", time_column="t", sensitive=["s"])
        project.configure("train", families=["linear"], search="random", budget="90s")
        project.configure("gates", min={"roc_auc": 0.7})
        project.configure("retrain", model="toy", budget="2m", max_trials=7, min_improvement=0.01,
                          holdout_fraction=0.3, environment="prod")
        project.configure("monitor", numeric_method="psi")
        seen = {}

        def fake_retrain(stores, model_name, **options):
            seen.update(options, model=model_name)

        monkeypatch.setattr(retraining, "retrain", fake_retrain)
        project.training.retrain("toy")
        agent = project.monitoring.agent()
    from_cli = {k: v for k, v in seen.items() if k not in ("model", "seed", "on_trial", "alias", "promote_into")}
    assert from_cli == agent.retrain_options  # one assembly: the two cannot disagree
    assert seen["alias"] == agent.policy.alias == "prod"
    assert from_cli["budget_seconds"] == 120.0 and from_cli["max_trials"] == 7 and from_cli["search"] == "random"
    assert from_cli["train_options"]["gates"] == {"min": {"roc_auc": 0.7}}
    assert from_cli["train_options"]["sensitive"] == ["s"] and from_cli["time_column"] == "t"
    assert agent.drift_policy.numeric_method == "psi" and agent.drift_policy.categorical_method == "auto"
    assert from_cli["drift_policy"] == agent.drift_policy


def test_the_budget_of_a_search_follows_the_file_unless_given(tmp_path):
    with cv.Project.init(tmp_path) as project:
        assert project.training.budget() == 60.0 and project.training.budget(retrain=True) == 60.0
        project.configure("retrain", budget="5m")
        assert project.training.budget(retrain=True) == 300.0 and project.training.budget("1d") == 86400.0


def test_opening_a_project_and_listing_stays_off_the_heavy_libraries(tmp_path):
    cv.Project.init(tmp_path).close()
    heavy = ("sklearn", "scipy", "optuna", "fastapi", "lightgbm", "psutil")
    code = (f"import sys, conveyor as cv\n"
            f"with cv.Project.open({str(tmp_path)!r}) as p:\n"
            f"    p.models.list(); p.data.list(); p.runs.list(); p.monitoring.alerts(); p.config.train\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
