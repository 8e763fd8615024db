"""A third-party distribution plugs into conveyor through entry points: conveyor-test-plugin (plugin_dist/) is built
and installed into its own folder (conftest.py), and what it adds is used from the `conveyor` CLI on a real
project: its notifier receives the alert that `conveyor monitor` fires; `conveyor train` searches its model family;
`conveyor models import` and `conveyor score` read and run a model of its flavor. Without the plug-in on the path
the same project is refused with "Unknown notifier" / "Unknown model family".
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from importlib import import_module

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from conveyor.testing import check_family
from conveyor.testing.notifier_check import local_receiver


def conveyor(*args: str, cwd, plugin_site=None, code: int = 0) -> subprocess.CompletedProcess:
    """`conveyor ARGS` in a subprocess, with the plug-in's folder on PYTHONPATH when ``plugin_site`` is given."""
    path = [str(plugin_site)] if plugin_site else []
    env = {**os.environ, "CONVEYOR_USER": "tester",
           "PYTHONPATH": os.pathsep.join([*path, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with a model (imported, with its training data recorded) and a drifted batch to monitor."""
    root = tmp_path_factory.mktemp("plugged")
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    reference["y"] = (reference["a"] + reference["b"] > 0).astype(int)
    reference.to_csv(root / "reference.csv", index=False)
    reference.assign(a=reference["a"] + 3).to_csv(root / "current.csv", index=False)
    with (root / "model.pkl").open("wb") as handle:
        pickle.dump(LogisticRegression().fit(reference[["a", "b"]], reference["y"]), handle)
    conveyor("init", "proj", cwd=root)
    proj = root / "proj"
    conveyor("data", "ingest", "../reference.csv", "--name", "reference", cwd=proj)
    conveyor("data", "ingest", "../current.csv", "--name", "current", cwd=proj)
    conveyor("models", "import", "../model.pkl", "--name", "m", "--data", "reference@latest", "--trust", cwd=proj)
    return proj


def set_alerts(project, alerts: dict) -> None:
    config_file = project / "conveyor.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["alerts"] = alerts
    config["security"] = {"allowed_hosts": ["127.0.0.1"]}  # the test receivers listen on loopback
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


MONITOR = ("monitor", "m:1", "--current", "current@latest", "--no-multivariate", "--json")


def test_a_plug_in_notifier_receives_the_alert_conveyor_monitor_fires(project, plugin_site, tmp_path):
    captured = tmp_path / "captured.jsonl"
    set_alerts(project, {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.1,
                                    "notify": ["capture", "log"]}],
                         "capture": {"path": str(captured)}})

    refused = conveyor(*MONITOR, cwd=project, code=2)  # the plug-in is not on the path
    assert "Unknown notifier 'capture'" in refused.stderr and not captured.exists()

    report = json.loads(conveyor(*MONITOR, cwd=project, plugin_site=plugin_site).stdout)
    assert report["drift"] is True
    [alert] = [a for a in report["alerts"] if a["rule"] == "drift"]
    assert alert["notified"] == ["capture", "log"] and alert["notify_errors"] == {}
    [line] = captured.read_text().splitlines()  # the plug-in's own record of what it received
    assert json.loads(line) == {"id": alert["id"], "rule": "drift", "subject": "m:1", "value": alert["value"]}


def test_a_webhook_answering_garbage_leaves_the_alert_stored_and_monitor_succeeds(project):
    """Regression: `conveyor monitor` used to end in an internal error when the webhook answered garbage."""
    with local_receiver("garbage") as receiver:
        set_alerts(project, {"rules": [{"name": "drift-hook", "signal": "drift.share", "threshold": 0.1,
                                        "notify": ["webhook", "log"]}],
                             "webhook": {"url": f"{receiver.url}/hook?token=hunter2", "timeout": 5}})
        report = json.loads(conveyor(*MONITOR, cwd=project).stdout)
        assert len(receiver.requests) == 1
    assert report["drift"] is True
    [stored] = [a for a in json.loads(conveyor("alerts", "--json", cwd=project).stdout) if a["rule"] == "drift-hook"]
    assert stored["notified"] == ["log"]
    assert "did not answer in HTTP" in stored["notify_errors"]["webhook"]
    assert "hunter2" not in json.dumps(stored)


def test_a_plug_in_model_family_trains_from_the_cli(plugin_site, tmp_path, monkeypatch):
    conveyor("init", "proj", cwd=tmp_path)
    proj = tmp_path / "proj"
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.to_csv(proj / "cancer.csv", index=False)
    config = yaml.safe_load((proj / "conveyor.yaml").read_text())
    config["train"] = {**(config.get("train") or {}), "families": ["knn"]}
    (proj / "conveyor.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    conveyor("data", "ingest", "cancer.csv", "--name", "cancer", cwd=proj)
    train = ("train", "cancer", "--target", "target", "--trials", "1", "--json")

    refused = conveyor(*train, cwd=proj, code=2)  # the plug-in is not on the path
    assert "Unknown model family 'knn'" in refused.stderr

    trained = json.loads(conveyor(*train, cwd=proj, plugin_site=plugin_site).stdout)
    assert trained["family"] == "knn" and set(trained["params"]) == {"n_neighbors"}
    assert trained["metrics"]["roc_auc"] > 0.9
    monkeypatch.syspath_prepend(str(plugin_site))  # the family a plug-in author ships passes conveyor's checker
    check_family(import_module("conveyor_test_plugin.families").FAMILY)


def test_a_plug_in_model_flavor_imports_and_scores_from_the_cli(plugin_site, tmp_path):
    conveyor("init", "proj", cwd=tmp_path)
    proj = tmp_path / "proj"
    (proj / "model.linjson").write_text(json.dumps({"names": ["a", "b"], "coef": [2.0, -1.0], "intercept": 0.5}))
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 4.0]}).to_csv(proj / "rows.csv", index=False)
    imported = json.loads(conveyor("models", "import", "model.linjson", "--name", "lin", "--json", cwd=proj,
                                   plugin_site=plugin_site).stdout)
    assert imported["model_version"] == "lin:1" and imported["flavor"] == "linear_json"  # no --trust: not a pickle
    assert [c["name"] for c in imported["signature"]["inputs"]] == ["a", "b"]
    conveyor("score", "lin:1", "rows.csv", "scored.csv", cwd=proj, plugin_site=plugin_site)
    np.testing.assert_allclose(pd.read_csv(proj / "scored.csv")["prediction"], [2.5, 3.5, 2.5])
    missing = conveyor("score", "lin:1", "rows.csv", "again.csv", cwd=proj, code=2)  # its flavor is not installed
    assert "a 'linear_json' model, a flavor no installed package provides" in missing.stderr
