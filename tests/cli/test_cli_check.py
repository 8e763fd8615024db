"""`conveyor check` as a CI job runs it: JUnit XML (every check a test case), a Markdown summary, exit 0/1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier

import conveyor as cv
from conveyor.registry.models import register_model


def conveyor(*args: str, cwd, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "ci"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    conveyor("init", str(root), "--environments", cwd=root)
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    frame.columns = ["a", "b", "c", "d", "target"]
    with cv.Project.open(root) as proj:
        version, _ = proj.data.ingest(frame, "cancer")
        good = proj.training.train(version, "target", max_trials=1, budget=60).model_version
        for env in ("dev", "staging", "prod"):
            proj.models.promote_to(good.ref, env)
        same = proj.models.load(good.ref).model
        register_model(proj.stores, same, "cancer", signature=good.signature, dataset=good.dataset,
                       metrics=good.metrics, meta={"metric": good.meta["metric"]})  # cancer:2, as good as prod
        dummy = DummyClassifier(strategy="most_frequent").fit(frame[["a", "b", "c", "d"]], frame["target"])
        register_model(proj.stores, dummy, "cancer", signature=good.signature, dataset=good.dataset,
                       metrics={"roc_auc": 0.5}, meta={"metric": "roc_auc"})  # cancer:3, worse than prod
        proj.data.contract(version.ref)
        proj.configure("retrain", max_trials=1)  # what `check --train` trains with
    return root


def _cases(path) -> dict[str, str]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    found = {}
    for case in suite.findall("testcase"):
        status = "failed" if case.find("failure") is not None else "skipped" if case.find("skipped") is not None \
            else "passed"
        found[case.get("name")] = status
    return found


def test_a_candidate_as_good_as_prod_passes(project):
    done = conveyor("check", "--model", "cancer:2", "--junit", "j.xml", "--summary", "s.md", "--json", cwd=project)
    report = json.loads(done.stdout)
    assert report["passed"] and report["baseline"] == "cancer:1" and report["model"] == "cancer:2"
    assert _cases(project / "j.xml") == {"data.contract": "passed", "model.gates": "skipped",
                                         "compare.roc_auc": "passed"}
    summary = (project / "s.md").read_text()
    assert summary.startswith("## conveyor check: passed") and "| `compare.roc_auc` | ✅ pass |" in summary


def test_a_worse_candidate_fails_with_exit_1(project):
    done = conveyor("check", "--model", "cancer:3", "--junit", "bad.xml", "--summary", "bad.md", cwd=project, code=1)
    assert "1 check(s) failed: compare.roc_auc" in done.stderr
    assert _cases(project / "bad.xml")["compare.roc_auc"] == "failed"
    failure = ET.parse(project / "bad.xml").getroot().find("testsuite/testcase[@name='compare.roc_auc']/failure")
    assert failure is not None and "cancer:3 roc_auc 0.5000 vs cancer:1" in failure.get("message", "")
    assert "## conveyor check: FAILED" in (project / "bad.md").read_text()


def test_check_train_trains_a_candidate_on_the_newest_data_and_compares_it_on_rows_it_never_saw(project):
    with cv.Project.open(project) as proj:
        before = [v.ref for v in proj.models.list("cancer")]
        newest = proj.data.get("cancer@latest").ref
    done = conveyor("check", "--model", "cancer", "--train", "--junit", "train.xml", "--json", cwd=project)
    report = json.loads(done.stdout)
    trained = f"cancer:{len(before) + 1}"
    assert report["model"] == trained and report["baseline"] == "cancer:1" and report["passed"]
    cases = {c["name"]: c for c in report["checks"]}
    assert list(cases) == ["data.contract", "train.candidate", "model.gates", "compare.roc_auc"]
    assert cases["train.candidate"]["detail"].startswith(f"trained {trained} on ")
    assert f"of {newest} (" in cases["train.candidate"]["detail"] and "newest rows held out" in \
        cases["train.candidate"]["detail"]
    held_out = int(cases["train.candidate"]["detail"].split("(")[1].split(" ")[0])
    assert f"on the same {held_out} held-out rows of {newest}" in cases["compare.roc_auc"]["detail"]
    assert _cases(project / "train.xml")["train.candidate"] == "passed"
    with cv.Project.open(project) as proj:
        version = proj.models.get(trained)
        assert proj.runs.get(version.run_id).tags["kind"] == "check"
        assert proj.models.aliases("cancer") == {"dev": 1, "staging": 1, "prod": 1}  # a check moves nothing


def test_the_generated_workflow_runs_as_plain_shell_in_a_git_repository(project, tmp_path):
    """The GitHub workflow's own `run:` steps (install aside: this conveyor is already here), job after job, in a
    git repository holding the project: check passes, then the newest version walks dev -> staging -> prod."""
    with cv.Project.open(project) as proj:
        good = proj.models.get("cancer:1")
        newest = register_model(proj.stores, proj.models.load(good.ref).model, "cancer", signature=good.signature,
                                dataset=good.dataset, metrics=good.metrics, meta={"metric": "roc_auc"}).version
    conveyor("ci", "github", "--model", "cancer", cwd=project)
    git = ["git", "-c", "core.hooksPath=/dev/null", "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "conveyor.yaml", "contracts", ".github"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "ci"], cwd=project, check=True)
    workflow = yaml.safe_load((project / ".github/workflows/conveyor.yml").read_text())
    summary = tmp_path / "step-summary.md"
    env = {**os.environ, "CONVEYOR_USER": "ci-bot", "CONVEYOR_MODEL": workflow["env"]["CONVEYOR_MODEL"],
           "CONVEYOR_REVISION": "abc123", "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" not in step or step.get("name") == "Install conveyor":
                continue
            done = subprocess.run(["bash", "-ec", step["run"]], cwd=project, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"{name}: {step['run']}\n{done.stdout}\n{done.stderr}"
    assert _cases(project / "conveyor-junit.xml")["compare.roc_auc"] == "passed"
    assert summary.read_text().startswith("## conveyor check: passed")
    with cv.Project.open(project) as proj:
        assert {env: proj.models.aliases("cancer")[env] for env in ("dev", "staging", "prod")} == \
            {"dev": newest, "staging": newest, "prod": newest}
        last = proj.models.audit()[-1]
        assert (last.actor, last.subject, last.details["reason"]) == ("ci-bot", "cancer@prod", "CI abc123")


def test_new_data_that_breaks_its_contract_fails_the_check(project):
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    frame.columns = ["a", "b", "c", "d", "target"]
    with cv.Project.open(project) as proj:
        proj.data.ingest(frame.assign(a=frame["a"] * 1000), "cancer", on_error="warn")  # stored, flagged
    done = conveyor("check", "--model", "cancer:2", "--junit", "data.xml", "--json", cwd=project, code=1)
    report = json.loads(done.stdout)
    contract = next(c for c in report["checks"] if c["name"] == "data.contract")
    assert contract["status"] == "failed" and "breaks cancer.yaml" in contract["detail"]
    assert _cases(project / "data.xml")["data.contract"] == "failed"
