"""Runs INSIDE a Python that has MLflow (never imported by Conveyor): dumps an MLflow store as JSON lines.

Usage: ``python dump_mlflow.py TRACKING_URI STAGING_DIR [ARTIFACTS_DIR]``. Writes one JSON object per line on stdout:
``{"kind": "experiment" | "run" | "model" | "version", ...}``; run artifacts and model files are downloaded under
STAGING_DIR and named by their path there. ARTIFACTS_DIR, when given, is where the store's artifact root lives now
(a moved ``mlartifacts``/``mlruns`` folder): run artifacts are read from ``ARTIFACTS_DIR/<experiment>/<run>/artifacts``
when that exists. MLflow's own client reads the store, so every store and schema version MLflow reads works here.
"""

import json
import os
import shutil
import sys
import warnings

warnings.filterwarnings("ignore")


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def copy_artifacts(client, run, staging, artifacts_dir):
    dst = os.path.join(staging, "runs", run.info.run_id)
    if artifacts_dir:
        moved = os.path.join(artifacts_dir, run.info.experiment_id, run.info.run_id, "artifacts")
        if os.path.isdir(moved):
            shutil.copytree(moved, dst)
            return dst
    os.makedirs(dst, exist_ok=True)
    if not client.list_artifacts(run.info.run_id):
        return dst
    client.download_artifacts(run.info.run_id, "", dst)
    return dst


def main():
    uri, staging = sys.argv[1], sys.argv[2]
    artifacts_dir = sys.argv[3] if len(sys.argv) > 3 else ""
    import mlflow  # type: ignore[import-not-found]  # MLflow's Python, never Conveyor's
    from mlflow.entities import ViewType  # type: ignore[import-not-found]
    from mlflow.tracking import MlflowClient  # type: ignore[import-not-found]

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    emit({"kind": "mlflow", "version": mlflow.__version__})
    experiments = client.search_experiments(view_type=ViewType.ALL, max_results=50000)
    for exp in experiments:
        emit({"kind": "experiment", "id": exp.experiment_id, "name": exp.name,
              "artifact_location": exp.artifact_location, "lifecycle_stage": exp.lifecycle_stage,
              "creation_time": getattr(exp, "creation_time", None), "tags": dict(exp.tags)})
    for exp in experiments:
        token = None
        while True:
            page = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000,
                                      page_token=token)
            for run in page:
                history = {key: [[m.value, m.step, m.timestamp] for m in client.get_metric_history(run.info.run_id,
                                                                                                    key)]
                           for key in run.data.metrics}
                emit({"kind": "run", "id": run.info.run_id, "experiment_id": exp.experiment_id,
                      "experiment": exp.name, "name": run.info.run_name, "status": run.info.status,
                      "start_time": run.info.start_time, "end_time": run.info.end_time,
                      "lifecycle_stage": run.info.lifecycle_stage, "params": dict(run.data.params),
                      "tags": dict(run.data.tags), "metrics": history,
                      "artifacts": copy_artifacts(client, run, staging, artifacts_dir)})
            token = page.token
            if not token:
                break
    for model in client.search_registered_models(max_results=1000):
        aliases = dict(getattr(model, "aliases", {}) or {})
        emit({"kind": "model", "name": model.name, "description": model.description or "",
              "tags": dict(model.tags), "aliases": aliases})
        for mv in client.search_model_versions(f"name = '{model.name}'"):
            dst = os.path.join(staging, "models", model.name, str(mv.version))
            os.makedirs(dst, exist_ok=True)
            error = ""
            try:
                mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model.name}/{mv.version}", dst_path=dst)
            except Exception as exc:  # a version whose files are gone: reported, not fatal
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            emit({"kind": "version", "name": model.name, "version": int(mv.version), "run_id": mv.run_id,
                  "source": mv.source, "stage": mv.current_stage, "status": mv.status,
                  "description": mv.description or "", "tags": dict(mv.tags),
                  "creation_timestamp": mv.creation_timestamp, "files": dst, "error": error})
    emit({"kind": "end"})


if __name__ == "__main__":
    main()
