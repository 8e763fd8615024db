"""The MLflow client logging models with registration into a tracking server, one at a time; prints each call's
window (epoch seconds) as JSON so the server side can be attributed to it. Run with an MLflow venv's interpreter:
    python worker_log_model.py TRACKING_URI N [--no-example]"""

from __future__ import annotations

import json
import sys
import time

import mlflow
import mlflow.sklearn
import sklearn
import workload as w


def main() -> None:
    uri, count = sys.argv[1], int(sys.argv[2])
    example = "--no-example" not in sys.argv
    model, X = w.training_data()  # fitting is not timed
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"bench-{time.time_ns()}")
    windows = []
    name = f"{w.MODEL_NAME}-{time.time_ns()}"
    for i in range(count + 1):  # the first one warms the client up and is not reported
        with mlflow.start_run(run_name=f"model-{i}"):
            began, cpu = time.time(), time.process_time()
            mlflow.sklearn.log_model(model, name="model", registered_model_name=name,
                                     input_example=X.head() if example else None,
                                     serialization_format="cloudpickle",
                                     pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
            if i:
                windows.append([began, time.time(), time.process_time() - cpu])
    print(json.dumps({"mlflow": mlflow.__version__, "windows": windows}))


if __name__ == "__main__":
    main()
