"""Run the tracking workload against MLflow on its embedded SQLite store in a fresh temporary folder; print timings
as JSON. Run with the MLflow venv's interpreter (see bench/run.sh): .bench/mlflow-venv/bin/python <this file>

The model is saved with serialization_format="cloudpickle": MLflow 3's default (skops) refuses a RandomForest
unless every type is listed in skops_trusted_types, and conveyor pickles scikit-learn models too.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import sklearn
import workload as w
from mlflow import MlflowClient
from mlflow.entities import Metric


def main() -> None:
    model, X = w.training_data()  # fitting is not timed
    timings = w.Timings()
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        with timings.time("open store"):
            mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
            client = MlflowClient()
            experiment = client.create_experiment("bench", artifact_location=Path(tmp, "artifacts").as_uri())
            mlflow.set_experiment(experiment_id=experiment)

        with timings.time(w.LOG_OPERATION):
            for i in range(w.N_RUNS):
                with mlflow.start_run(run_name=f"r{i}"):
                    for key, value in w.params(i).items():
                        mlflow.log_param(key, value)
                    for key, value in w.metrics(i).items():
                        mlflow.log_metric(key, value, step=0)

        with mlflow.start_run(run_name="batch") as run, timings.time(f"log batch of {w.BATCH_SIZE:,}"):
            stamp = int(time.time() * 1000)
            client.log_batch(run.info.run_id, metrics=[Metric(k, v, stamp, s) for k, v, s in w.batch()])

        with mlflow.start_run(run_name="model"), timings.time("log + register model"):
            mlflow.sklearn.log_model(model, name="model", registered_model_name=w.MODEL_NAME,
                                     input_example=X.head(), serialization_format="cloudpickle")

        with timings.time("set alias"):
            client.set_registered_model_alias(w.MODEL_NAME, w.ALIAS, "1")
        with timings.time("load model by alias"):
            loaded = mlflow.sklearn.load_model(f"models:/{w.MODEL_NAME}@{w.ALIAS}")
        assert np.array_equal(loaded.predict(X), model.predict(X))

        with timings.time("search runs by metric"):
            found = mlflow.search_runs(order_by=[f"metrics.{w.SEARCH_METRIC} DESC"], max_results=w.SEARCH_LIMIT)
        assert len(found) == w.SEARCH_LIMIT and found["tags.mlflow.runName"][0] == f"r{w.expected_top_run()}"
    versions = {"mlflow": mlflow.__version__, "scikit-learn": sklearn.__version__}
    print(json.dumps({"versions": versions, "timings": timings}))


if __name__ == "__main__":
    main()
