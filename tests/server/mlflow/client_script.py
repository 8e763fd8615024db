"""A realistic MLflow training script, run by the real MLflow client (in its own venv) against a tracking server
named by MLFLOW_TRACKING_URI; it prints one JSON object of what it logged and read back, for the test to compare.

    python client_script.py MODEL_NAME OUT_JSON"""

import json
import sys
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

name, out = sys.argv[1], sys.argv[2]
major = int(mlflow.__version__.split(".")[0])
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["age", "income", "tenure"])
y = (X["age"] + 0.5 * X["income"] > 0).astype(int)

mlflow.set_experiment(name)  # one experiment per script run: the searches below stay its own
experiment = mlflow.get_experiment_by_name(name)

# 1. autolog of a scikit-learn fit
mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
with mlflow.start_run(run_name="autolog") as auto_run:
    LogisticRegression(C=0.5, max_iter=200).fit(X, y)
mlflow.sklearn.autolog(disable=True)

# 2. manual params, metrics over steps, a tag, an artifact, the model logged and registered
with mlflow.start_run(run_name="manual") as run:
    mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
    mlflow.log_param("features", 3)
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"auc": 0.91, "accuracy": 0.88})
    mlflow.set_tag("team", "risk")
    with open("notes.txt", "w") as handle:
        handle.write("trained by the MLflow compatibility test\n")
    mlflow.log_artifact("notes.txt")
    model = LogisticRegression(C=1.0, max_iter=200).fit(X, y)
    kwargs = {"name": "model"} if major >= 3 else {"artifact_path": "model"}
    info = mlflow.sklearn.log_model(model, registered_model_name=name, serialization_format="cloudpickle",
                                    input_example=X.head(2), **kwargs)

client = MlflowClient()
version = client.get_latest_versions(name)[0].version if major < 3 else \
    client.search_model_versions(f"name = '{name}'")[0].version
client.set_registered_model_alias(name, "champion", version)
by_alias = client.get_model_version_by_alias(name, "champion")

loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
predicted = loaded.predict(X.head(10)).tolist()
expected = model.predict(X.head(10)).tolist()

found = mlflow.search_runs(experiment_ids=[experiment.experiment_id],
                           filter_string="metrics.auc > 0.9 and params.solver = 'lbfgs' and tags.team = 'risk'",
                           output_format="list")
everything = mlflow.search_runs(experiment_ids=[experiment.experiment_id], output_format="list",
                                order_by=["attributes.start_time ASC"])
got = client.get_run(run.info.run_id)
auto = client.get_run(auto_run.info.run_id)
history = client.get_metric_history(run.info.run_id, "loss")
artifacts = [f.path for f in client.list_artifacts(run.info.run_id)]
notes = Path(client.download_artifacts(run.info.run_id, "notes.txt")).read_text()

# 3. registry and experiment edits: tags, descriptions, deletes, renames (refused ones answer MLflow's error)
def refused(call, *args):
    try:
        call(*args)
    except MlflowException as exc:
        return exc.error_code
    return "accepted"


client.set_registered_model_tag(name, "owner", "risk")
client.set_registered_model_tag(name, "draft", "yes")
client.delete_registered_model_tag(name, "draft")
client.update_registered_model(name, description="churn model")
client.set_model_version_tag(name, version, "validated", "yes")
client.set_model_version_tag(name, version, "draft", "yes")
client.delete_model_version_tag(name, version, "draft")
client.update_model_version(name, version, description="first fit")
registered = client.get_registered_model(name)
described = client.get_model_version(name, version)
second = client.create_model_version(name, info.model_uri, run.info.run_id).version
copied = mlflow.register_model(f"models:/{name}/{version}", f"{name}-copy")  # what a rename is refused for
client.delete_model_version(name, second)
scratch = f"{name}-scratch"
client.create_registered_model(scratch, tags={"k": "v"}, description="to delete")
client.delete_registered_model(scratch)
experiment_id = client.create_experiment(f"{name}-edits", tags={"k": "v"})
client.set_experiment_tag(experiment_id, "stage", "dev")
if hasattr(client, "delete_experiment_tag"):
    client.delete_experiment_tag(experiment_id, "k")
client.rename_experiment(experiment_id, f"{name}-renamed")
client.delete_experiment(experiment_id)
deleted_stage = client.get_experiment(experiment_id).lifecycle_stage
client.restore_experiment(experiment_id)
restored = client.get_experiment(experiment_id)
edits = {
    "model_tags": registered.tags, "model_description": registered.description,
    "version_tags": described.tags, "version_description": described.description,
    "second": str(second), "copied": [copied.name, str(copied.version), copied.run_id],
    "versions_left": sorted(v.version for v in client.search_model_versions(f"name = '{name}'")),
    "delete_aliased": refused(client.delete_model_version, name, version),
    "rename": refused(client.rename_registered_model, name, f"{name}-renamed"),
    "scratch_after_delete": refused(client.get_registered_model, scratch),
    "experiment_deleted": deleted_stage, "experiment": [restored.name, restored.lifecycle_stage, restored.tags],
}

with open(out, "w") as handle:
    json.dump({
        "mlflow": mlflow.__version__,
        "experiment_id": experiment.experiment_id,
        "run_id": run.info.run_id, "auto_run_id": auto_run.info.run_id,
        "status": got.info.status, "run_name": got.info.run_name,
        "params": got.data.params, "metrics": got.data.metrics,
        "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
        "auto_params": auto.data.params, "auto_metrics": sorted(auto.data.metrics),
        "history": [[m.step, m.value] for m in history],
        "artifacts": artifacts, "notes": notes,
        "version": str(version), "alias_version": str(by_alias.version), "alias_run": by_alias.run_id,
        "model_uri": info.model_uri,
        "predicted": predicted, "expected": expected,
        "found": [r.info.run_id for r in found],
        "all_runs": [r.info.run_id for r in everything],
        "rows": X.head(10).values.tolist(),
        "edits": edits,
    }, handle)
