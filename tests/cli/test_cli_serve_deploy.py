"""`conveyor deploy`, chunked `conveyor score` and the serve options through the real CLI: JSON out, exit 2 with
one clear line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import conveyor as cv
from conveyor.registry.models import register_model


def conveyor(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deployproj")
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    model = lgb.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, X["a"] - X["b"])
    with cv.Project.init(root) as proj:
        register_model(proj.stores, model, "price", input_example=X.head())
        proj.models.promote("price:1", "champion")
    pd.concat([X] * 10, ignore_index=True).to_parquet(root / "big.parquet", index=False)
    return root


def test_deploy_writes_docker_and_k8s_files(project):
    docker = json.loads(conveyor("deploy", "docker", "price@champion", "--out", "img", "--json", cwd=project).stdout)
    assert docker["mode"] == "baked" and (project / "img" / "Dockerfile").is_file()
    k8s = json.loads(conveyor("deploy", "k8s", "price@champion", "--out", "k8s", "--json", cwd=project).stdout)
    assert sorted(Path(f).name for f in k8s["files"]) == ["deployment.yaml", "horizontalpodautoscaler.yaml",
                                                           "service.yaml"]


def test_score_streams_chunks_on_an_executor(project):
    done = conveyor("score", "price@champion", "big.parquet", "out.csv", "--chunk-rows", "700", "--executor",
                    "threads", "--workers", "2", "--json", cwd=project)
    assert json.loads(done.stdout)["rows"] == 3000
    assert len(pd.read_csv(project / "out.csv")) == 3000


@pytest.mark.parametrize(("args", "needle"), [
    (["deploy", "docker", "price@champion", "--out", "."], "not an empty folder"),
    (["deploy", "k8s", "ghost@champion", "--out", "k8s-ghost"], "Unknown model 'ghost'"),
    (["deploy", "k8s", "price@champion", "--out", "k8s-bad", "--cpu-target", "300"], "percentage"),
    (["score", "price@champion", "big.parquet", "o.csv", "--executor", "bogus"], "Unknown executor"),
    (["serve", "price@champion", "--canary", "price@champion:200"], "Invalid canary"),
    (["serve", "price@champion", "--shadow", "ghost@x"], "Unknown model 'ghost'"),
])
def test_bad_input_exits_2_with_one_line(project, args, needle):
    done = conveyor(*args, cwd=project, code=2)
    assert needle in done.stderr and "Traceback" not in done.stderr
