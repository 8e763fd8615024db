"""`conveyor deploy edge`: a bundle whose runner imports only onnxruntime and numpy and answers what the served
model does, from JSON, CSV and over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

import conveyor as cv
from conveyor.serve import running_server

FORBIDDEN = ("conveyor", "sklearn", "pandas", "scipy", "skl2onnx", "onnxmltools", "lightgbm", "xgboost")
# Runs the bundle's runner with those packages made unimportable, and reports what else it imported.
GUARD = """
import atexit, json, sys
FORBIDDEN = {forbidden!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError("the edge runner must not import " + name)
        return None
sys.meta_path.insert(0, Block())
atexit.register(lambda: print("TOP", json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})), file=sys.stderr))
sys.argv = {argv!r}
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_runner(bundle: Path, *args: str, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    argv = [str(bundle / "runner.py"), *args]
    command = [sys.executable, "-I", "-c", GUARD.format(forbidden=FORBIDDEN, argv=argv)]
    if popen:
        return subprocess.Popen(command, cwd=bundle, **popen)
    return subprocess.run(command, cwd=bundle, capture_output=True, text=True, timeout=120)


def _records(frame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


@pytest.fixture(scope="module")
def bundle(churn_project, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edge") / "bundle"
    done = subprocess.run([sys.executable, "-m", "conveyor", "deploy", "edge", "churn@champion", "--out", str(out),
                           "--project", str(churn_project), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["model_version"] == "churn:1" and summary["max_abs_diff"] <= 1e-4
    return out


@pytest.fixture(scope="module")
def served(churn_project, churn_data) -> dict:
    rows = churn_data.drop(columns="churn").head(25).copy()
    rows.loc[2, "income"] = np.nan
    with cv.Project.open(churn_project) as project, \
            running_server(project.serving_app("churn@champion", log_predictions=False)) as url:
        answer = httpx.post(f"{url}/invocations", json={"dataframe_records": _records(rows)}, timeout=30).json()
    return {"rows": rows, "answer": answer}


def _same(answer: dict, expected: dict) -> None:
    assert answer["predictions"] == expected["predictions"]
    ours = np.array([[p[k] for k in sorted(p)] for p in answer["probabilities"]])
    theirs = np.array([[p[k] for k in sorted(p)] for p in expected["probabilities"]])
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1e-4


def test_bundle_holds_the_model_runner_schema_and_two_requirements(bundle):
    assert sorted(p.name for p in bundle.iterdir()) == ["model.onnx", "requirements.txt", "runner.py", "schema.json"]
    requirements = [line.split(">=")[0] for line in (bundle / "requirements.txt").read_text().split()]
    assert requirements == ["onnxruntime", "numpy"]
    schema = json.loads((bundle / "schema.json").read_text())
    assert [c["name"] for c in schema["inputs"]] == ["age", "income", "plan", "active"]
    assert {c["name"]: c["onnx"] for c in schema["inputs"]}["plan"] == "string"
    assert schema["task"] == "classification" and schema["classes"] == ["no", "yes"]


def test_runner_answers_json_like_the_server_without_conveyor_sklearn_or_pandas(bundle, served, tmp_path):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"dataframe_records": _records(served["rows"])}))
    done = run_runner(bundle, str(rows))
    assert done.returncode == 0, done.stderr
    _same(json.loads(done.stdout), served["answer"])
    imported = set(json.loads(done.stderr.split("TOP ", 1)[1]))
    assert {"onnxruntime", "numpy"} <= imported and not imported & set(FORBIDDEN)


def test_runner_reads_csv(bundle, served, tmp_path):
    rows = tmp_path / "rows.csv"
    served["rows"].to_csv(rows, index=False)
    done = run_runner(bundle, str(rows))
    assert done.returncode == 0, done.stderr
    _same(json.loads(done.stdout), served["answer"])


def test_runner_serves_http(bundle, served):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = run_runner(bundle, "--serve", str(port), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "the runner did not start"
                time.sleep(0.05)
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations",
                            json={"dataframe_records": _records(served["rows"])}).json()
        bad = httpx.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": [{"age": 3}]})
    finally:
        process.terminate()
        process.communicate(timeout=30)
    _same(answer, served["answer"])
    assert bad.status_code == 400 and "income" in bad.json()["error"]


def test_deploy_edge_refuses_a_model_it_cannot_check(tmp_path, lgbm_regressor):
    with cv.Project.init(tmp_path / "p") as project:
        lgbm_regressor.register(project.stores, "loose")
    done = subprocess.run([sys.executable, "-m", "conveyor", "deploy", "edge", "loose", "--out", str(tmp_path / "b"),
                           "--project", str(tmp_path / "p")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "names no training dataset" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "b").exists()
