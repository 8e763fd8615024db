"""What a reviewer gets with each model: evaluation (slices, fairness, importance), the HTML report opened in
headless Chromium, quality gates that block promotion (API and CLI) unless overridden with an audited reason,
model cards, and the train command's exit codes and --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer

import conveyor as cv
from conveyor.core.errors import BadInputError, CheckFailedError
from conveyor.testing.browser import screenshot


def conveyor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "CONVEYOR_USER": "reviewer"})


def patients(rows: int = 569) -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.head(rows)
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    rng = np.random.default_rng(0)
    return frame.assign(sex=rng.choice(["f", "m"], size=len(frame)),
                        clinic=rng.choice(["north", "south", "east"], size=len(frame)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    project = cv.Project.init(root)
    project.configure("data", sensitive=["sex"])
    project.configure("train", slice="clinic", intended_use="Triage support for reviewers.",
                      families=["linear", "lightgbm"])
    project.configure("gates", min={"roc_auc": 0.9999}, max={"log_loss": 5.0}, max_latency_ms_per_row=1000,
                      max_model_mb=500, fairness={"demographic_parity_difference": 1.0})
    dataset, _ = project.data.ingest(patients(), "patients")
    result = project.training.train(dataset, "target", max_trials=4, budget=120)
    yield project, result
    project.close()


def test_the_evaluation_holds_slices_fairness_and_importance(trained):
    _, result = trained
    evaluation = result.evaluation
    assert {g["value"] for g in evaluation["slices"]["groups"]} == {"north", "south", "east"}
    assert sum(g["rows"] for g in evaluation["slices"]["groups"]) == evaluation["holdout_rows"]
    sex = evaluation["fairness"]["sex"]
    assert {g["group"] for g in sex["by_group"]} == {"f", "m"}
    assert 0 <= sex["demographic_parity_difference"] <= 1 and 0 <= sex["equalized_odds_difference"] <= 1
    assert "sex" not in result.automl.features  # evaluated for fairness, not used as a feature
    permutation = evaluation["importance"]["permutation"]
    assert {p["feature"] for p in permutation} == set(result.automl.features)
    assert evaluation["confusion"]["matrix"] and evaluation["curves"]["roc"]["1"][-1] == [1.0, 1.0]
    assert {"pr_auc", "brier", "calibration_error", "log_loss"} <= set(result.metrics)


def test_gates_are_recorded_per_rule(trained):
    _, result = trained
    rules = {r["rule"]: r["passed"] for r in result.gates["rules"]}
    assert rules == {"min.roc_auc": False, "max.log_loss": True, "max_latency_ms_per_row": True,
                     "max_model_mb": True, "fairness.demographic_parity_difference[sex]": True}
    assert result.gates["passed"] is False
    assert result.model_version.meta["gates"] == result.gates


def test_a_failed_gate_blocks_promotion_until_an_audited_override(trained):
    project, result = trained
    ref = result.model_version.ref
    with pytest.raises(CheckFailedError, match=r"min\.roc_auc"):
        project.models.promote(ref, "champion")
    assert "champion" not in project.models.aliases("patients")
    with pytest.raises(BadInputError, match="needs a reason"):
        project.models.promote(ref, "champion", override_gates=True)
    change = project.models.promote(ref, "champion", override_gates=True, reason="accepted by the review board")
    assert change.version == result.model_version.version
    entry = project.models.audit()[-1]
    assert entry.action == "promote" and entry.details["override_gates"] is True
    assert entry.details["failed_gates"] == ["min.roc_auc"] and entry.details["reason"].startswith("accepted")
    assert project.models.verify() > 0


def test_the_html_report_opens_offline_in_chromium(trained, tmp_path):
    project, result = trained
    path = project.runs.report(result.run.id, tmp_path / "report.html")
    html = path.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    for heading in ("Trial leaderboard", "Confusion matrix", "ROC curve", "Calibration", "Permutation importance",
                    "Fairness by group", "Quality gates", "Metrics by clinic"):
        assert heading in html
    shot = screenshot(path, tmp_path / "report.png")
    assert shot.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.console == []
    # read back from the DOM Chromium rendered, not from the file we wrote
    assert shot.title == f"{result.run.name} report"
    assert shot.headings[0] == f"Training report: {result.run.name}"
    assert {"Trial leaderboard", "Quality gates", "Fairness by group", "Metrics by clinic"} <= set(shot.headings)


def test_a_regression_report_draws_residuals(tmp_path):
    frame = patients().drop(columns=["target"])
    project = cv.Project.init(tmp_path)
    with project:
        dataset, _ = project.data.ingest(frame, "sizes")
        result = project.training.train(dataset, "mean_area", max_trials=2, budget=60)
        page = project.runs.report(result.run.id, tmp_path / "r.html")
        html = page.read_text()
        assert "Residuals" in html and "Confusion" not in html
        shot = screenshot(page, tmp_path / "r.png")
        assert shot.console == [] and shot.png.stat().st_size > 1000
        assert shot.headings[0] == f"Training report: {result.run.name}" and "Holdout metrics" in shot.headings
        assert "Residuals" in shot.text and "Confusion" not in shot.text


def test_the_model_card_covers_use_data_metrics_fairness_limits_and_lineage(trained):
    project, result = trained
    card = project.models.card(result.model_version.ref)
    assert card["intended_use"] == "Triage support for reviewers."
    assert card["data"]["training"] == result.model_version.dataset and card["data"]["holdout_rows"] > 100
    assert card["metrics"] == result.metrics and "sex" in card["fairness"]
    assert card["gates"]["passed"] is False and card["limitations"]
    assert card["lineage"]["run"] == result.run.id and "scikit-learn" in card["lineage"]["packages"]
    digest = project.runs.get(result.run.id).artifacts["model_card.json"]
    stored = json.loads(project.stores.artifacts.get_bytes(digest))
    assert stored["model"] == card["model"]


def test_the_cli_shows_cards_blocks_promotion_and_writes_reports(trained, tmp_path):
    project, result = trained
    root, ref = project.root, result.model_version.ref
    shown = conveyor("models", "show", ref, "--card", cwd=root)
    assert shown.returncode == 0 and "# Model card" in shown.stdout and "## Limitations" in shown.stdout
    assert "FAIL min.roc_auc" in shown.stdout
    as_json = json.loads(conveyor("models", "show", ref, "--json", cwd=root).stdout)
    assert as_json["card"]["intended_use"] == "Triage support for reviewers."
    refused = conveyor("models", "promote", ref, "--alias", "staging", cwd=root)
    assert refused.returncode == 1 and "min.roc_auc" in refused.stderr and "Traceback" not in refused.stderr
    allowed = conveyor("models", "promote", ref, "--alias", "staging", "--override-gates", "--reason", "demo",
                       cwd=root)
    assert allowed.returncode == 0, allowed.stderr
    written = conveyor("report", result.run.id[:12], "--out", str(tmp_path / "cli.html"), "--json", cwd=root)
    assert written.returncode == 0 and json.loads(written.stdout)["report"].endswith("cli.html")
    missing = conveyor("report", "nosuchrun", cwd=root)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    for model_ref in ("patients@staging", ref):  # RUN|MODEL[@ALIAS|:N]: a model's report is its run's
        page = tmp_path / f"{model_ref.replace('@', '-').replace(':', '-')}.html"
        by_model = conveyor("report", model_ref, "--html", str(page), "--json", cwd=root)
        assert by_model.returncode == 0, by_model.stderr
        assert json.loads(by_model.stdout) == {"run": result.run.id, "model_version": ref, "report": str(page)}
        assert page.read_text() == (tmp_path / "cli.html").read_text()  # the same run's report


def test_train_exits_one_listing_the_failing_gates(trained):
    project, _ = trained
    done = conveyor("train", "patients", "--target", "target", "--trials", "2", "--budget", "60s", "--json",
                    cwd=project.root)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["gates"]["passed"] is False and data["trials"] == 2
    assert "failed 1 quality gate(s): min.roc_auc" in done.stderr


@pytest.mark.parametrize(
    ("frame_change", "args", "message"),
    [
        (lambda f: f.assign(target=1), [], "single class"),
        (lambda f: f.assign(target=f["target"].astype(float).where(f.index % 9 > 0)), [], "missing values"),
        (lambda f: f, ["--task", "classification", "--target", "mean_area"], "regression target"),
        (lambda f: f, ["--metric", "rmse"], "does not fit a classification task"),
        (lambda f: f[["target"]].assign(a=1.0, b="same"), [], "No usable feature columns"),
        (lambda f: f.head(30), ["--folds", "40"], "too few for 40 folds"),
    ],
)
def test_bad_training_input_exits_two_with_one_line(tmp_path, frame_change, args, message):
    conveyor("init", str(tmp_path), cwd=tmp_path)
    frame_change(patients(300)).to_csv(tmp_path / "data.csv", index=False)
    assert conveyor("data", "ingest", "data.csv", "--name", "d", cwd=tmp_path).returncode == 0
    target = [] if "--target" in args else ["--target", "target"]
    done = conveyor("train", "d", *target, *args, "--trials", "1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_gates_with_a_typo_are_refused_before_training(tmp_path):
    with cv.Project.init(tmp_path) as project:
        with pytest.raises(BadInputError, match=r"Unknown key gates\.minimum") as caught:
            project.configure("gates", minimum={"roc_auc": 0.9})
        assert caught.value.hint == "Did you mean gates.min?"
    assert "minimum" not in (tmp_path / "conveyor.yaml").read_text()  # refused before it was written
    with (tmp_path / "conveyor.yaml").open("a") as file:
        file.write("gates: {minimum: {roc_auc: 0.9}}\n")  # edited by hand: refused when the project opens
    with pytest.raises(BadInputError, match=r"Unknown key gates\.minimum"):
        cv.Project.open(tmp_path)


def test_a_challenger_must_beat_the_champion_on_the_same_holdout(tmp_path):
    project = cv.Project.init(tmp_path)
    with project:
        project.configure("train", families=["linear"])
        project.configure("gates", beat_champion={"margin": 0.5})  # no model can gain half an AUC point
        dataset, _ = project.data.ingest(patients(), "p")
        first = project.training.train(dataset, "target", max_trials=1, budget=60)
        assert first.gates["passed"] and "no champion yet" in first.gates["rules"][0]["detail"]
        project.models.promote(first.model_version.ref, "champion")
        second = project.training.train(dataset, "target", max_trials=1, budget=60)
        rule = second.gates["rules"][0]
        assert rule["rule"] == "beat_champion" and not rule["passed"]
        assert f"champion {first.model_version.ref}" in rule["detail"]
        with pytest.raises(CheckFailedError, match="beat_champion"):
            project.models.promote(second.model_version.ref, "champion")
        assert project.models.aliases("p")["champion"] == first.model_version.version


def test_mistyped_train_settings_exit_two(tmp_path):
    conveyor("init", str(tmp_path), cwd=tmp_path)
    patients(100).to_csv(tmp_path / "data.csv", index=False)
    assert conveyor("data", "ingest", "data.csv", "--name", "d", cwd=tmp_path).returncode == 0
    config = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
    config["train"]["workers"] = "two"
    (tmp_path / "conveyor.yaml").write_text(yaml.safe_dump(config))
    done = conveyor("train", "d", "--target", "target", "--trials", "1", cwd=tmp_path)
    assert done.returncode == 2 and "train.workers must be a whole number of at least 1, got 'two'" in done.stderr


def test_people_see_a_progress_bar_and_the_gate_table(trained):
    project, _ = trained
    done = conveyor("train", "patients", "--target", "target", "--trials", "2", "--budget", "60s", cwd=project.root)
    assert done.returncode == 1
    assert "training" in done.stderr and "trials 2" in done.stderr and "best 0." in done.stderr
    assert "Quality gates" in done.stdout and "FAIL" in done.stdout and "Traceback" not in done.stderr
