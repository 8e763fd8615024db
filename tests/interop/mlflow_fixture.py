"""Run by the MLflow venv's Python (not by pytest): builds an MLflow store with the real client.

Usage: python mlflow_fixture.py TRACKING_URI. Writes, on stdout, a JSON summary of what it logged.
Three experiments; runs with params, tags, statuses, metric history (steps, timestamps) and artifacts; a registered
sklearn model (a description, a tag) with two versions, an alias and a stage; one deleted run.
"""

import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()
logged = {"runs": {}, "deleted": []}

SPECS = [  # experiment, run name, model, team, auc, loss steps, status
    ("churn", "rf-small", "rf", "growth", 0.81, [0.9, 0.7, 0.5], "FINISHED"),
    ("churn", "rf-big", "rf", "growth", 0.87, [0.8, 0.6, 0.4, 0.3], "FINISHED"),
    ("churn", "lr-base", "lr", "core", 0.74, [1.0, 0.95], "FAILED"),
    ("churn", "gbm", "gbm", "Growth", 0.91, [0.7, 0.35], "FINISHED"),
    ("fraud", "fraud-rf", "rf", "risk", 0.66, [0.6], "FINISHED"),
    ("fraud", "fraud-xgb", "xgb", "risk", None, [], "KILLED"),
    ("fraud", "it's quoted", "lr", "risk team", 0.5, [0.5, 0.45], "FINISHED"),
    ("ranking", "rank-1", "lambdamart", "search", 0.77, [0.9, 0.8, 0.7], "FINISHED"),
]

base = int(time.time() * 1000) - 100_000
for i, (exp, name, model, team, auc, losses, status) in enumerate(SPECS):
    mlflow.set_experiment(exp)
    with mlflow.start_run(run_name=name) as run:
        rid = run.info.run_id
        mlflow.log_params({"model": model, "depth": str(3 + i), "lr": "0.1" if i % 2 else "0.05"})
        mlflow.set_tags({"team": team, "my key": f"value-{i}"})
        if i % 3 == 0:
            mlflow.set_tag("reviewed", "yes")
        if auc is not None:
            mlflow.log_metric("auc", auc)
        for step, loss in enumerate(losses):
            mlflow.log_metric("loss", loss, step=step, timestamp=base + i * 1000 + step)
        mlflow.log_metric("val.acc", 0.5 + i / 20)
        os.makedirs("out", exist_ok=True)
        with open(f"out/notes-{i}.txt", "w") as f:
            f.write(f"notes of {name}\n")
        mlflow.log_artifact(f"out/notes-{i}.txt")
        mlflow.log_artifact(f"out/notes-{i}.txt", artifact_path="deep/dir")
    client.set_terminated(rid, status=status)
    logged["runs"][rid] = name
    time.sleep(0.01)

mlflow.set_experiment("churn")
with mlflow.start_run(run_name="to-delete") as run:
    mlflow.log_param("model", "rf")
client.delete_run(run.info.run_id)
logged["deleted"].append(run.info.run_id)
mlflow.set_experiment("empty-one")

from sklearn.linear_model import LogisticRegression  # noqa: E402

mlflow.set_experiment("churn")
model_runs = []
for c in (0.5, 1.0):
    with mlflow.start_run(run_name=f"train-c{c}") as run:
        mlflow.log_param("C", str(c))
        mlflow.log_metric("auc", 0.8 + c / 10)
        fitted = LogisticRegression(C=c).fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [0, 1, 0, 1])
        mlflow.sklearn.log_model(fitted, name="model", registered_model_name="churn-model",
                                 serialization_format="cloudpickle")
        model_runs.append(run.info.run_id)
        logged["runs"][run.info.run_id] = f"train-c{c}"
client.set_registered_model_alias("churn-model", "champion", "2")
client.set_registered_model_alias("churn-model", "old", "1")
client.transition_model_version_stage("churn-model", "1", "Staging")
client.update_registered_model("churn-model", description="churn, from MLflow")
client.set_registered_model_tag("churn-model", "team", "risk")
logged["model_runs"] = model_runs
print(json.dumps(logged))
