"""A third-party distribution plugs into conveyor through entry points: conveyor-test-plugin (plugin_dist/) is built
and installed into its own folder (conftest.py), and what it adds is used from the `conveyor` CLI on a real
project: its notifier receives the alert that `conveyor monitor` fires. Without the plug-in on the path the same
project is refused with "Unknown notifier".

The model family of the same plug-in (entry point ``conveyor.families``) gets its test at the end of this module.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

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


# The plug-in's model family (entry point conveyor.families) gets its test here: add
# plugin_dist/conveyor_test_plugin/families.py and its entry point in plugin_dist/pyproject.toml, then train from
# the CLI with `train.families: [<its name>]` using the same `plugin_site` fixture, and check the run used it.
