"""The MLflow client logging into a tracking *server* over HTTP (``conveyor server`` or ``mlflow server``): runs with
params and metrics one call at a time, then one ``log_model`` with registration; prints timings as JSON. Run with
the MLflow venv's interpreter: .bench/mlflow-venv/bin/python <this file> TRACKING_URI RUNS

``pip_requirements`` is given so that the client's own pip inference (a subprocess that reloads the model, the same
on both sides) does not hide the server's share of a ``log_model``."""

from __future__ import annotations

import json
import sys
import time

import mlflow
import mlflow.sklearn
import sklearn
import workload as w


def main() -> None:
    uri, runs = sys.argv[1], int(sys.argv[2])
    model, X = w.training_data()  # fitting is not timed
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"bench-{time.time_ns()}")
    timings = w.Timings()
    with timings.time("log"):
        for i in range(runs):
            with mlflow.start_run(run_name=f"r{i}"):
                for key, value in w.params(i).items():
                    mlflow.log_param(key, value)
                for key, value in w.metrics(i).items():
                    mlflow.log_metric(key, value, step=0)
    name = f"{w.MODEL_NAME}-{time.time_ns()}"
    with mlflow.start_run(run_name="model"), timings.time("log_model"):
        mlflow.sklearn.log_model(model, name="model", registered_model_name=name, input_example=X.head(),
                                 serialization_format="cloudpickle",
                                 pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
    loaded = mlflow.sklearn.load_model(f"models:/{name}/1")
    assert (loaded.predict(X) == model.predict(X)).all()
    print(json.dumps({"versions": {"mlflow": mlflow.__version__}, "timings": timings,
                      "values": runs * (w.N_PARAMS + w.N_METRICS)}))


if __name__ == "__main__":
    main()
