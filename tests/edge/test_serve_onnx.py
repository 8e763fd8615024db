"""`conveyor serve --runtime onnx`: the same endpoints through onnxruntime, answering what the model's own library
answers; a model that cannot be exported does not start (exit 2, the reason on stderr)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import numpy as np
import pytest

import conveyor as cv
from conveyor.registry.models import promote
from conveyor.serve import create_app, running_server
from conveyor.testing.processes import start_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _records(rows) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in rows.to_dict("records")]


def _ask(url: str, rows) -> dict:
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.post("/invocations", json={"dataframe_records": _records(rows)})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.mark.parametrize("fixture", ["lgbm_churn", "xgb_churn", "linear_churn", "lgbm_regressor"])
def test_onnx_runtime_answers_what_the_model_does(fixture, stores, request):
    trained = request.getfixturevalue(fixture)
    trained.register(stores, "m")
    promote(stores, "m:1", "champion")
    with running_server(create_app(stores, "m@champion", log_predictions=False)) as url:
        expected = _ask(url, trained.rows)
    app = create_app(stores, "m@champion", log_predictions=False, runtime="onnx", onnx_check=trained.rows)
    assert type(app.state.server.primary.current.predictor).__name__ == "OnnxPredictor"
    with running_server(app) as url:
        answered = _ask(url, trained.rows)
        with httpx.Client(base_url=url, timeout=30) as http:  # the V2 door too
            v2 = http.post("/v2/models/m/infer", json={"inputs": [
                {"name": c, "datatype": "FP64" if trained.rows[c].dtype.kind == "f" else "BYTES", "shape": [2],
                 "data": trained.rows[c].head(2).tolist()} for c in ["x0", "x1", "x2", "x3"]]}) \
                if fixture == "lgbm_regressor" else None
    assert len(answered["predictions"]) == len(trained.rows) and answered.keys() == expected.keys()
    if "probabilities" in expected:
        assert answered["predictions"] == expected["predictions"]
        ours = np.array([[p[k] for k in sorted(p)] for p in answered["probabilities"]])
        theirs = np.array([[p[k] for k in sorted(p)] for p in expected["probabilities"]])
        assert np.abs(ours - theirs).max() <= 1e-4
    else:
        assert np.abs(np.array(answered["predictions"]) - np.array(expected["predictions"])).max() <= 1e-4
    if v2 is not None:
        assert v2.status_code == 200, v2.text
        values = v2.json()["outputs"][0]["data"]
        assert np.abs(np.array(values) - np.array(expected["predictions"][:2])).max() <= 1e-4


def test_unknown_runtime_is_refused(lgbm_regressor, stores):
    lgbm_regressor.register(stores, "m")
    with pytest.raises(Exception, match="Unknown serving runtime 'tensorrt'"):
        create_app(stores, "m", runtime="tensorrt")


@pytest.mark.slow
def test_cli_serve_onnx_matches_the_sklearn_runtime(churn_project, churn_data):
    root = churn_project
    rows = churn_data.drop(columns="churn").head(30)
    with cv.Project.open(root) as project, \
            running_server(project.serving_app("churn@champion", log_predictions=False)) as url:
        expected = _ask(url, rows)
    port = free_port()
    server = start_server("churn@champion", "--port", str(port), "--project", str(root), "--json",
                          "--runtime", "onnx", "--no-log")
    try:
        answered = _ask(f"http://127.0.0.1:{port}", rows)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert json.loads(out)["model_version"] == "churn:1" and "Traceback" not in err
    assert answered["predictions"] == expected["predictions"]
    ours = np.array([list(p.values()) for p in answered["probabilities"]])
    theirs = np.array([list(p.values()) for p in expected["probabilities"]])
    assert np.abs(ours - theirs).max() <= 1e-4


def test_cli_serve_onnx_refuses_a_model_it_cannot_check(tmp_path, lgbm_regressor):
    with cv.Project.init(tmp_path) as project:  # registered by hand: no training dataset to check the export on
        lgbm_regressor.register(project.stores, "loose")
    done = subprocess.run([sys.executable, "-m", "conveyor", "serve", "loose", "--runtime", "onnx",
                           "--project", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "loose:1 names no training dataset, so its ONNX export cannot be checked" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_section_picks_the_runtime(tmp_path, lgbm_regressor):
    from conveyor.core.errors import BadInputError, ConveyorError

    with cv.Project.init(tmp_path) as project:
        lgbm_regressor.register(project.stores, "loose")
    config = tmp_path / "conveyor.yaml"
    base = config.read_text()
    config.write_text(base + "serve:\n  runtime: onnx\n")
    with cv.Project.open(tmp_path) as project, pytest.raises(BadInputError, match="names no training dataset"):
        project.serving_app("loose")
    config.write_text(base + "serve:\n  runtime: tensorrt\n")
    with pytest.raises(ConveyorError, match="tensorrt"):
        cv.Project.open(tmp_path).close()


def test_hot_reload_keeps_the_onnx_runtime(lgbm_regressor, stores):
    import lightgbm as lgb

    from conveyor.registry.models import register_model

    X = lgbm_regressor.rows
    lgbm_regressor.register(stores, "m")
    shifted = lgb.LGBMRegressor(n_estimators=10, min_child_samples=2, verbose=-1, n_jobs=1).fit(X, 100 + X["x0"])
    register_model(stores, shifted, "m", signature=lgbm_regressor.signature)
    promote(stores, "m:1", "champion")
    app = create_app(stores, "m@champion", log_predictions=False, runtime="onnx", onnx_check=X)
    holder = app.state.server.primary
    promote(stores, "m:2", "champion")
    assert holder.check()
    served = holder.current
    assert served.ref == "m:2" and type(served.predictor).__name__ == "OnnxPredictor"
    values, _ = served.predictor.predict_frame(X)
    assert np.abs(values - shifted.predict(X)).max() <= 1e-4
