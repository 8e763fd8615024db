"""Plug-ins as users install them: a distribution declaring entry points (a model family and a model flavor), found by
the `conveyor` command in a fresh process, and used from the CLI (train with the family, import and score a model of
the flavor)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from conveyor.testing.plugins import write_plugin

SOURCES = Path(__file__).parents[1] / "plugin_sources"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    write_plugin(folder, "conveyor-knn", modules={"conveyor_knn_plugin": (SOURCES / "conveyor_knn_plugin.py")
                                                  .read_text()},
                 entry_points={"conveyor.families": {"knn": "conveyor_knn_plugin:FAMILY"}})
    write_plugin(folder, "conveyor-linear-json",
                 modules={"conveyor_linear_json_plugin": (SOURCES / "conveyor_linear_json_plugin.py").read_text()},
                 entry_points={"conveyor.flavors": {"linear_json": "conveyor_linear_json_plugin:FLAVOR"}})
    return folder


def conveyor(*args: str, cwd: Path, plugins: Path, code: int = 0) -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (str(plugins), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": path, "CONVEYOR_USER": "tester"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def test_an_installed_family_trains_from_the_cli(tmp_path, plugin_path):
    conveyor("init", str(tmp_path), cwd=tmp_path, plugins=plugin_path)
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    with open(tmp_path / "conveyor.yaml", "a") as config:
        config.write("train:\n  families: [knn]\n")
    conveyor("data", "ingest", "cancer.csv", "--name", "cancer", cwd=tmp_path, plugins=plugin_path)
    trained = json.loads(conveyor("train", "cancer", "--target", "target", "--trials", "1", "--json", cwd=tmp_path,
                                  plugins=plugin_path).stdout)
    assert trained["family"] == "knn" and set(trained["params"]) == {"n_neighbors"}
    assert trained["metrics"]["roc_auc"] > 0.9


def test_an_installed_flavor_imports_and_scores_from_the_cli(tmp_path, plugin_path):
    conveyor("init", str(tmp_path), cwd=tmp_path, plugins=plugin_path)
    spec = {"names": ["a", "b"], "coef": [2.0, -1.0], "intercept": 0.5}
    (tmp_path / "model.linjson").write_text(json.dumps(spec))
    rows = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 4.0]})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    imported = json.loads(conveyor("models", "import", "model.linjson", "--name", "lin", "--json", cwd=tmp_path,
                                   plugins=plugin_path).stdout)
    assert imported["model_version"] == "lin:1" and imported["flavor"] == "linear_json"
    assert [c["name"] for c in imported["signature"]["inputs"]] == ["a", "b"]
    conveyor("score", "lin:1", "rows.csv", "scored.csv", cwd=tmp_path, plugins=plugin_path)
    scored = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_allclose(scored["prediction"], [2.5, 3.5, 2.5])
