"""`conveyor import mlflow`: copy an MLflow store's experiments, runs and registered models into Conveyor.

What is copied, and how it maps:

* A run keeps its MLflow run id as its Conveyor id (that is the id mapping, and what makes a second import add
  nothing), its name, status (lower case), start and end times, params, tags (``mlflow.*`` system tags included),
  every metric value with its step and timestamp, and every artifact file (``NAME`` = its path under the run's
  artifact root, content-addressed) and its experiment: an MLflow experiment becomes the Conveyor experiment of the
  same name (created with its tags, keeping MLflow's id when it is free). Deleted runs and experiments are skipped.
* A registered model version becomes a Conveyor version of the same model name, numbered by Conveyor (the MLflow
  number is kept in ``meta["mlflow"]["version"]``: that is the version mapping); its run is the MLflow run (lineage
  run -> model version). The model's pickle is stored as it came, never unpickled, marked untrusted:
  `conveyor models trust NAME:N` makes it loadable. Versions whose model is not a scikit-learn pickle are skipped
  (named in the summary).
* Aliases point at the mapped versions; a stage without an alias of its own maps to one: ``Production`` ->
  ``champion``, ``Staging`` -> ``challenger`` (the newest version in that stage).

A run is written with the tag ``conveyor.import`` = ``partial`` first and ``complete`` last: an import stopped half way
resumes that run on the next import (upserts for params and tags, metrics only for keys without history yet).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conveyor.core.entities import AuditNote, Metric, ModelVersion, Run
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.refs import check_name
from conveyor.interop.mlflow.source import find_mlflow_python, read_store, tracking_uri
from conveyor.registry.importing import register_untrusted
from conveyor.registry.models import current_actor
from conveyor.store import Stores

__all__ = ["IMPORT_TAG", "KINDS", "STAGE_ALIASES", "ImportSummary", "import_mlflow"]

IMPORT_TAG = "conveyor.import"
STAGE_ALIASES = {"Production": "champion", "Staging": "challenger"}
KINDS = ("experiments", "runs", "params", "tags", "metric values", "artifacts", "model versions", "aliases",
         "model notes")

Progress = Callable[[str, int], None]


@dataclass
class ImportSummary:
    """Per kind, how many were added and how many were already there; what was skipped and why."""

    source: str
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    existing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: list[str] = field(default_factory=list)
    version_map: dict[str, str] = field(default_factory=dict)  # "NAME/N" (MLflow) -> "NAME:M" (Conveyor)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "added": self.added, "existing": self.existing, "skipped": self.skipped,
                "versions": self.version_map}


def import_mlflow(stores: Stores, source: str, *, artifacts: str | Path | None = None, python: str | None = None,
                  on_progress: Progress | None = None) -> ImportSummary:
    """Copy the MLflow store ``source`` (a tracking URI or a file store folder; its artifacts under ``artifacts``
    when they were moved) into ``stores``, idempotently."""
    uri = tracking_uri(source)
    moved = Path(artifacts) if artifacts else None
    if moved is not None and not moved.is_dir():
        raise BadInputError(f"--artifacts {moved} is not a folder.", field="artifacts",
                            hint="Pass the folder that holds the store's artifacts (mlartifacts or mlruns).")
    mlflow_python = find_mlflow_python(python)
    summary = ImportSummary(source=uri)
    with tempfile.TemporaryDirectory(prefix="conveyor-mlflow-") as staging:
        _Importer(stores, summary, on_progress or (lambda kind, n: None)).consume(
            read_store(uri, mlflow_python, Path(staging), moved))
    return summary


class _Importer:
    def __init__(self, stores: Stores, summary: ImportSummary, progress: Progress) -> None:
        self.stores, self.summary, self.progress = stores, summary, progress
        self.deleted_experiments: set[str] = set()
        self.experiment_ids: dict[str, str] = {}  # MLflow experiment id -> Conveyor experiment id
        self.models: dict[str, dict[str, Any]] = {}
        self.stages: dict[str, dict[str, int]] = {}  # model -> alias -> conveyor version

    def count(self, kind: str, added: int, existing: int = 0) -> None:
        self.summary.added[kind] += added
        self.summary.existing[kind] += existing

    def consume(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            kind = record["kind"]
            if kind == "experiment":
                self.experiment(record)
            elif kind == "run":
                self.run(record)
                self.progress("runs", 1)
            elif kind == "model":
                self.models[record["name"]] = record
            elif kind == "version":
                self.version(record)
                self.progress("model versions", 1)
            elif kind == "mlflow":
                continue
        for name, model in self.models.items():
            self.aliases(name, model)
            self.model_note(name, model)

    def experiment(self, e: dict[str, Any]) -> None:
        if e["lifecycle_stage"] == "deleted":
            self.deleted_experiments.add(e["id"])
            self.summary.skipped.append(f"experiment {e['name']!r}: deleted in MLflow")
            return
        runs = self.stores.runs
        found = runs.experiment_by_name(e["name"])
        if found is None:
            keep = e["id"].isdigit() and len(e["id"]) < 10 and not self._experiment_exists(e["id"])
            found = runs.create_experiment(e["name"], tags=e["tags"], experiment_id=e["id"] if keep else None)
            self.count("experiments", 1)
        else:
            self.count("experiments", 0, 1)
        self.experiment_ids[e["id"]] = found.id

    # runs
    def run(self, r: dict[str, Any]) -> None:
        if r["lifecycle_stage"] == "deleted" or r["experiment_id"] in self.deleted_experiments:
            self.summary.skipped.append(f"run {r['id']}: deleted in MLflow")
            return
        runs = self.stores.runs
        try:
            existing = runs.get(r["id"])
        except NotFoundError:
            existing = None
        if existing is not None and existing.tags.get(IMPORT_TAG) == "complete":
            self.count("runs", 0, 1)
            self.count("params", 0, len(r["params"]))
            self.count("tags", 0, len(r["tags"]))
            self.count("metric values", 0, sum(len(h) for h in r["metrics"].values()))
            self.count("artifacts", 0, len(_files(Path(r["artifacts"]))))
            return
        tags = {**r["tags"], IMPORT_TAG: "partial"}
        if existing is None:
            end = r["end_time"]
            runs.create(Run(id=r["id"], name=r["name"] or r["id"], status=r["status"].lower(),
                            started_at=(r["start_time"] or 0) / 1000, ended_at=None if end is None else end / 1000,
                            params=r["params"], tags=tags, experiment=self.experiment_ids[r["experiment_id"]]))
        else:
            runs.log_params(r["id"], r["params"])
            runs.set_tags(r["id"], tags)
        self.count("runs", 1)
        self.count("params", len(r["params"]))
        self.count("tags", len(r["tags"]))
        for key, history in r["metrics"].items():
            if existing is not None and runs.metric_history(r["id"], key):
                self.count("metric values", 0, len(history))
                continue
            values = [Metric(key, float(v), int(step), ts / 1000) for v, step, ts in history
                      if v is not None and not math.isnan(float(v))]
            if len(values) < len(history):
                self.summary.skipped.append(f"run {r['id']}: {len(history) - len(values)} NaN value(s) of metric "
                                            f"{key!r} (not stored)")
            runs.log_metrics(r["id"], values)
            self.count("metric values", len(values))
        for name, path in _files(Path(r["artifacts"])).items():
            runs.add_artifact(r["id"], name, self.stores.artifacts.put_bytes(path.read_bytes()))
            self.count("artifacts", 1)
        runs.set_tags(r["id"], {IMPORT_TAG: "complete"})

    # registry
    def _mapped(self, name: str, mlflow_version: int) -> ModelVersion | None:
        for mv in self.stores.registry.versions(name):
            if (mv.meta.get("mlflow") or {}).get("version") == mlflow_version:
                return mv
        return None

    def version(self, v: dict[str, Any]) -> None:
        name, number = v["name"], v["version"]
        label = f"model version {name}/{number}"
        try:
            check_name(name, "model name")
        except BadInputError:
            self.summary.skipped.append(f"{label}: the name is not a valid Conveyor model name")
            return
        found = self._mapped(name, number)
        if found is None:
            if v["error"]:
                self.summary.skipped.append(f"{label}: its files could not be read ({v['error']})")
                return
            pickle = _sklearn_pickle(Path(v["files"]))
            if pickle is None:
                self.summary.skipped.append(f"{label}: not a scikit-learn pickle (only those are imported)")
                return
            found = self._register(v, pickle)
            self.count("model versions", 1)
        else:
            self.count("model versions", 0, 1)
        self.summary.version_map[f"{name}/{number}"] = found.ref
        alias = STAGE_ALIASES.get(v["stage"] or "")
        if alias and number >= self.stages.setdefault(name, {}).get(f"{alias}#mlflow", 0):
            self.stages[name][alias] = found.version
            self.stages[name][f"{alias}#mlflow"] = number

    def _register(self, v: dict[str, Any], pickle: Path) -> ModelVersion:
        run_id = v["run_id"] if v["run_id"] and self._run_exists(v["run_id"]) else None
        model = self.models.get(v["name"], {})
        return register_untrusted(self.stores, pickle.read_bytes(), v["name"], flavor="sklearn", run_id=run_id, meta={
            "imported_from": f"mlflow:models:/{v['name']}/{v['version']}",
            "mlflow": {"version": v["version"], "run_id": v["run_id"], "source": v["source"], "stage": v["stage"],
                       "description": v["description"], "tags": v["tags"], "created_at": v["creation_timestamp"],
                       "model_description": model.get("description", ""), "model_tags": model.get("tags", {})}})

    def _experiment_exists(self, experiment_id: str) -> bool:
        try:
            self.stores.runs.get_experiment(experiment_id)
        except NotFoundError:
            return False
        return True

    def _run_exists(self, run_id: str) -> bool:
        try:
            self.stores.runs.get(run_id)
        except NotFoundError:
            return False
        return True

    def model_note(self, name: str, model: dict[str, Any]) -> None:
        """The registered model's description and tags, as MLflow clients of Conveyor then read them (the versions'
        own travel in their ``meta["mlflow"]``)."""
        description, tags = model.get("description") or "", dict(model.get("tags") or {})
        if not (description or tags) or not self.stores.registry.versions(name):
            return
        current = next((n for n in self.stores.registry.notes(name) if n.version == 0), None)
        if current is not None and (current.description, current.tags) == (description, tags):
            self.count("model notes", 0, 1)
            return
        self.stores.registry.annotate(name, description=description, tags=tags)
        self.count("model notes", 1)

    def aliases(self, name: str, model: dict[str, Any]) -> None:
        wanted = {alias: self.stages[name][alias] for alias in STAGE_ALIASES.values()
                  if alias in self.stages.get(name, {})}
        for alias, mlflow_version in model["aliases"].items():
            mapped = self.summary.version_map.get(f"{name}/{mlflow_version}")
            if mapped is None:
                self.summary.skipped.append(f"alias {name}@{alias}: its version {mlflow_version} was not imported")
                continue
            wanted[alias] = int(mapped.rsplit(":", 1)[1])
        current = self.stores.registry.aliases(name)
        for alias, version in wanted.items():
            if current.get(alias) == version:
                self.count("aliases", 0, 1)
                continue
            self.stores.registry.set_alias(name, alias, version,
                                           audit=AuditNote(current_actor(), "promote",
                                                           {"imported_from": "mlflow"}))
            self.count("aliases", 1)


def _files(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _sklearn_pickle(folder: Path) -> Path | None:
    """The pickle file an MLflow model folder's ``MLmodel`` names for its sklearn flavor (None if it has none)."""
    for mlmodel in sorted(folder.rglob("MLmodel")):
        spec = yaml.safe_load(mlmodel.read_text()) or {}
        sk = (spec.get("flavors") or {}).get("sklearn") or {}
        known = sk.get("serialization_format", "cloudpickle") in ("cloudpickle", "pickle", "skops")
        if sk.get("pickled_model") and known:
            candidate = mlmodel.parent / sk["pickled_model"]
            if candidate.is_file():
                return candidate
    return None
