"""The Python API's centre: a project folder (conveyor.yaml + its stores) and every verb of the loop on it.

    import conveyor as cv
    project = cv.Project.init("churn")
    ds = project.ingest("train.csv", name="churn")
    result = project.train(ds, target="churned", budget="60s")
    project.promote(result.model_version.ref, alias="champion")

This layer only composes the domain modules; the CLI and servers only translate to and from it.
Training, monitoring, retraining and serving are imported when first used: they pull in scikit-learn, SciPy,
Optuna and FastAPI, and a verb such as `conveyor models list` should not wait for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from conveyor.core.entities import AliasChange, AuditEntry, DatasetVersion, ModelVersion, Run
from conveyor.core.errors import BadInputError
from conveyor.core.refs import DatasetRef, ModelRef, check_name
from conveyor.core.settings import PROJECT_FILE, STATE_DIR, Settings, find_project_root
from conveyor.data import datasets
from conveyor.execution import check_executor
from conveyor.registry import importing, models
from conveyor.registry.integrity import verify_registry
from conveyor.registry.loaded import LoadedModel
from conveyor.store import Stores
from conveyor.train.budget import parse_budget
from conveyor.train.tracking import ActiveRun, start_run

if TYPE_CHECKING:
    from fastapi import FastAPI

    from conveyor.core.entities import Alert
    from conveyor.execution.resources import ResourceSampler
    from conveyor.monitor.monitoring import MonitorReport
    from conveyor.pipeline.agent import Agent
    from conveyor.pipeline.retrain import RetrainDecision
    from conveyor.train.trainer import TrainResult

DEFAULT_CONFIG: dict[str, Any] = {
    "data": {},
    "train": {"task": "auto", "budget": "60s", "search": "bayesian"},
    "retrain": {"min_improvement": 0.0, "holdout_fraction": 0.2},
}


class Project:
    def __init__(self, root: Path, config: dict[str, Any], stores: Stores) -> None:
        self.root = root
        self.config = config
        self.stores = stores

    # opening
    @classmethod
    def init(cls, path: str | Path = ".", name: str | None = None) -> Project:
        root = Path(path).resolve()
        root.mkdir(parents=True, exist_ok=True)
        config_file = root / PROJECT_FILE
        if not config_file.exists():
            config = {"name": check_name(name or root.name or "project", "project name"), **DEFAULT_CONFIG}
            config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        (root / STATE_DIR).mkdir(exist_ok=True)
        return cls.open(root)

    @classmethod
    def open(cls, path: str | Path | None = None) -> Project:
        """The project at ``path`` (default: the nearest conveyor.yaml upward from here, else this folder)."""
        if path is not None and not Path(path).is_dir():
            raise BadInputError(f"No project folder at {path}.", field="project",
                                hint=f"Create one with `conveyor init {path}`.")
        root = find_project_root(Path(path) if path else None)
        config_file = root / PROJECT_FILE
        config: dict[str, Any] = {}
        if config_file.is_file():
            try:
                config = yaml.safe_load(config_file.read_text()) or {}
            except yaml.YAMLError as exc:
                raise BadInputError(f"{config_file} is not valid YAML: {exc}", field=PROJECT_FILE) from None
            if not isinstance(config, dict):
                raise BadInputError(f"{config_file} must hold a mapping.", field=PROJECT_FILE)
        settings = Settings.for_project(root)
        check_executor(settings.executor)  # a typo in CONVEYOR_EXECUTOR must not silently run work inline
        return cls(root, config, Stores.open(settings.db_url, settings.artifacts_url))

    def close(self) -> None:
        self.stores.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def configure(self, section: str, **values: Any) -> None:
        """Set ``section.key`` values and write them to conveyor.yaml, so every later verb sees them."""
        self.config.setdefault(section, {}).update(values)
        config_file = self.root / PROJECT_FILE
        tmp = config_file.with_name(f".{PROJECT_FILE}.tmp")
        tmp.write_text(yaml.safe_dump(self.config, sort_keys=False))
        tmp.replace(config_file)

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        value = (self.config.get(section) or {}).get(key)
        return default if value is None else value

    # data
    def ingest(self, source: str | Path | pd.DataFrame, name: str) -> DatasetVersion:
        """Ingest a file, folder, ``module:function`` or DataFrame as `conveyor data ingest` does (the project's
        contract for ``name``, if any, included); see ingest_source for SQL, PII and error policies."""
        return self.ingest_source(source, name)[0]

    def dataset(self, ref: str | DatasetRef) -> DatasetVersion:
        return datasets.resolve(self.stores, ref)

    def datasets(self, name: str | None = None) -> list[DatasetVersion]:
        if name is not None:
            self.stores.metadata.get_dataset_version(name)  # unknown name -> NotFoundError
        return self.stores.metadata.list_dataset_versions(name)

    def load_frame(self, ref: str | DatasetVersion) -> pd.DataFrame:
        return datasets.load_frame(self.stores, self.dataset(ref) if isinstance(ref, str) else ref)

    # runs
    def start_run(self, *, name: str | None = None, dataset: DatasetVersion | str | None = None,
                  tags: dict[str, Any] | None = None) -> ActiveRun:
        if isinstance(dataset, str):
            found = self.dataset(dataset)
            dataset = f"{found.name}@{found.version}"
        return start_run(self.stores, name=name, dataset=dataset, project_root=self.root, tags=tags)

    def run(self, run_id: str) -> Run:
        return self.stores.metadata.get_run(run_id)

    def runs(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset: str | None = None,
             limit: int | None = None) -> list[Run]:
        return self.stores.metadata.list_runs(order_by_metric=order_by_metric, ascending=ascending,
                                              dataset_name=dataset, limit=limit)

    def train(self, dataset: str | DatasetVersion, target: str | None = None, *, model_name: str | None = None,
              task: str | None = None, metric: str | None = None, budget: str | float | None = None,
              max_trials: int | None = None, search: str | None = None, seed: int = 0,
              on_trial=None, folds: int | None = None) -> TrainResult:
        version = self.dataset(dataset) if isinstance(dataset, str) else dataset
        target = target or self.setting("data", "target")
        if not target:
            raise BadInputError("No target column given.", field="target",
                                hint="Pass --target COLUMN or set data.target in conveyor.yaml.")
        if model_name:
            check_name(model_name, "model name")
        from conveyor.train.trainer import train  # deferred: scikit-learn, LightGBM, Optuna

        time_column = self.setting("data", "time_column")
        frame = None
        if time_column and time_column in version.column_names:  # it orders rows for retraining; no feature
            frame = datasets.load_frame(self.stores, version).drop(columns=[time_column])
        options = self._train_options()
        if folds is not None:
            options["folds"] = folds
        try:
            return train(self.stores, version, target, model_name=model_name, frame=frame,
                         task=task or self.setting("train", "task", "auto"),
                         metric=metric or self.setting("train", "metric"),
                         budget_seconds=parse_budget(budget or self.setting("train", "budget", "60s")),
                         max_trials=max_trials, search=search or self.setting("train", "search", "bayesian"),
                         seed=seed, project_root=self.root, on_trial=on_trial, **options)
        finally:
            if options["executor"] is not None:
                options["executor"].shutdown()

    # registry
    def model(self, ref: str | ModelRef) -> ModelVersion:
        return models.resolve_model(self.stores, ref)

    def models(self, name: str | None = None) -> list[ModelVersion]:
        if name is not None:
            models.resolve_model(self.stores, name)
        return self.stores.metadata.list_model_versions(name)

    def aliases(self, name: str) -> dict[str, int]:
        return self.stores.metadata.aliases(name)

    def load_model(self, ref: str | ModelRef | ModelVersion) -> LoadedModel:
        return models.load_model(self.stores, ref)

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False) -> AliasChange:
        return models.promote(self.stores, ref, alias, reason=reason, override_gates=override_gates)

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange:
        return models.rollback(self.stores, name, alias, reason=reason)

    def import_model(self, path: str | Path, name: str, *, data: str | None = None,
                     trust: bool = False) -> ModelVersion:
        return importing.import_model(self.stores, path, name, data=data, trust=trust, project_root=self.root)

    def audit(self) -> list[AuditEntry]:
        return self.stores.metadata.list_audit()

    def verify_audit(self) -> int:
        """Check the audit chain and that the registry matches it; raise IntegrityError if not."""
        return verify_registry(self.stores)

    # monitoring and retraining
    def monitor(self, ref: str, *, current: str | DatasetVersion | pd.DataFrame | None = None,
                window: int | None = None, since: str | float | None = None, multivariate: bool = False,
                record: bool = True) -> MonitorReport:
        """Check ``ref`` against its stored reference statistics; store the scores as time series and evaluate the
        alert rules of conveyor.yaml on them (``record=False``: just look)."""
        from conveyor.core.durations import parse_duration
        from conveyor.monitor.monitoring import monitor_frame, window_frame  # deferred: SciPy
        from conveyor.stats import DriftPolicy

        model = self.model(ref)
        if current is not None and (window is not None or since is not None):
            raise BadInputError("Give either --current or a window (--window/--since), not both.", field="current")
        options = {"multivariate": multivariate, "policy": DriftPolicy(
            numeric_method=str(self.setting("monitor", "numeric_method", "auto")),
            categorical_method=str(self.setting("monitor", "categorical_method", "auto")))}
        if isinstance(current, pd.DataFrame):
            report = monitor_frame(self.stores, model, current, "dataframe", **options)
        elif current is not None:
            version = self.dataset(current) if isinstance(current, str) else current
            report = monitor_frame(self.stores, model, datasets.load_frame(self.stores, version), version.ref,
                                   **options)
        else:
            seconds = parse_duration(since, "since") if since is not None else None
            if window is None and seconds is None:
                window = int(self.setting("monitor", "window", 1000))
            frame, records = window_frame(self.stores, model, window, seconds)
            label = f"last {len(frame)} predictions" + (f" within {since}" if since is not None else "")
            report = monitor_frame(self.stores, model, frame, label, records, **options)
        if record:
            self.stores.metadata.add_samples(report.samples())
            self.evaluate_alerts(model.ref)
        return report

    def retrain(self, model_name: str, *, budget: str | float | None = None, max_trials: int | None = None,
                seed: int = 0, on_trial=None) -> RetrainDecision:
        check_name(model_name, "model name")
        from conveyor.pipeline.retrain import retrain  # deferred: the whole training stack

        return retrain(self.stores, model_name,
                       budget_seconds=parse_budget(budget or self.setting("train", "budget", "60s")),
                       max_trials=max_trials, search=self.setting("train", "search", "bayesian"),
                       min_improvement=float(self.setting("retrain", "min_improvement", 0.0)),
                       holdout_fraction=float(self.setting("retrain", "holdout_fraction", 0.2)),
                       time_column=self.setting("data", "time_column"), seed=seed, project_root=self.root,
                       on_trial=on_trial, train_options=self._retrain_options())

    # serving
    def serving_app(self, ref: str, **options: Any) -> FastAPI:
        from conveyor.serve.app import create_app  # deferred: FastAPI

        return create_app(self.stores, ref, **options)

    # --- train ---
    def _train_options(self) -> dict[str, Any]:
        """The train:/gates: sections of conveyor.yaml, as the trainer's keyword arguments."""
        from conveyor.execution import get_executor

        workers = _setting_int(self.setting("train", "workers", 1), "train.workers")
        folds = self.setting("train", "folds")
        kind = Settings.for_project(self.root).executor
        sensitive = self.setting("train", "sensitive", [])
        families = self.setting("train", "families")
        selection = self.setting("train", "feature_selection")
        if not isinstance(sensitive, (str, list)) or (families is not None and not isinstance(families, list)):
            raise BadInputError("train.sensitive and train.families must be lists of names.", field="train",
                                hint="For example sensitive: [sex, age_band].")
        if selection is not None and not isinstance(selection, dict):
            raise BadInputError("train.feature_selection must be a mapping.", field="train.feature_selection",
                                hint="For example feature_selection: {method: mutual_info, keep: 0.5}.")
        return {
            "families": families,
            "feature_selection": selection,
            "folds": None if folds is None else _setting_int(folds, "train.folds"),
            "ensemble": bool(self.setting("train", "ensemble", True)),
            "executor": None if kind == "inline" else get_executor(kind, workers),
            "workers": workers,
            "storage": self.setting("train", "study_storage"),
            "sensitive": [sensitive] if isinstance(sensitive, str) else list(sensitive),
            "slice_column": self.setting("train", "slice"),
            "gates": self.config.get("gates") or None,
            "intended_use": self.setting("train", "intended_use"),
        }

    def _retrain_options(self) -> dict[str, Any]:
        """The train:/gates: options for retraining: those of `conveyor train`, with trials run inline (a retrain
        is one short search; the agent may hold its options for days, longer than an executor should live)."""
        options = self._train_options()
        executor = options.pop("executor")
        if executor is not None:
            executor.shutdown()
        options.pop("workers")
        return options

    def evaluation(self, run_id: str) -> dict[str, Any]:
        """The evaluation a training run stored (metrics, curves, fairness, importance, leaderboard)."""
        import json

        run = self.run(run_id)
        if "evaluation.json" not in run.artifacts:
            raise BadInputError(f"Run {run.id} has no evaluation: only `conveyor train` runs have one.",
                                field="run", hint="See `conveyor runs list` for training runs.")
        return json.loads(self.stores.artifacts.get_bytes(run.artifacts["evaluation.json"]))

    def report(self, run_id: str, path: str | Path) -> Path:
        """Write the run's self-contained HTML report (works offline) to ``path``, atomically."""
        from conveyor.train.report import render_report

        run = self.run(run_id)
        html = render_report(run, self.evaluation(run.id))
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)
        return target

    def model_card(self, ref: str) -> dict[str, Any]:
        from conveyor.registry.cards import build_card

        version = self.model(ref)
        run = self.run(version.run_id) if version.run_id else None
        return build_card(version, run, self.aliases(version.name))

    # --- monitor ---
    def reference_stats(self, ref: str) -> dict[str, Any]:
        """The stored reference statistics of a model version, computed from its training data on first call."""
        from conveyor.monitor.monitoring import reference_stats

        return reference_stats(self.stores, self.model(ref))

    def alert_rules(self) -> list:
        from conveyor.monitor.alerts import parse_rules

        return parse_rules(self.config.get("alerts"))

    def evaluate_alerts(self, subject: str) -> list[Alert]:
        """Evaluate the alert rules of conveyor.yaml on ``subject``'s stored series (and on the subjects rules name);
        notify and store what fires."""
        from conveyor.monitor.alerts import evaluate_all

        rules = self.alert_rules()
        return evaluate_all(self.stores.metadata, rules, subject, self.config.get("alerts") or {}) if rules else []

    def alerts(self, *, status: str | None = None, subject: str | None = None, limit: int | None = None) -> list[Alert]:
        return self.stores.metadata.list_alerts(subject, status=status, limit=limit)

    def ack_alert(self, alert_id: str) -> Alert:
        from conveyor.monitor.alerts import acknowledge

        return acknowledge(self.stores.metadata, alert_id, models.current_actor())

    def resource_sampler(self, subject: str, *, interval: float | None = None) -> ResourceSampler:
        """A sampler of this process's CPU, memory, disk (and GPUs) that stores into this project; start() it."""
        from conveyor.execution.resources import ResourceSampler

        every = float(interval or self.setting("monitor", "resource_interval", 5.0))
        return ResourceSampler(self.stores.metadata.add_samples, subject, interval=every, disk_path=self.root)

    def agent(self, model: str | None = None) -> Agent:
        """The retraining agent for ``model`` (default: policy.model), configured from conveyor.yaml."""
        from conveyor.pipeline.agent import Agent, parse_policy

        policy = parse_policy(self.config.get("policy"), model)
        check_name(policy.model, "model name")
        self.alert_rules()  # a mistake in the alert rules is reported before any work starts
        options = {"budget_seconds": parse_budget(self.setting("train", "budget", "60s")),
                   "search": self.setting("train", "search", "bayesian"),
                   "holdout_fraction": float(self.setting("retrain", "holdout_fraction", 0.2)),
                   "time_column": self.setting("data", "time_column"), "project_root": self.root,
                   "train_options": self._retrain_options()}
        if self.setting("policy", "max_trials") is not None:
            options["max_trials"] = int(self.setting("policy", "max_trials"))
        if self.setting("policy", "budget") is not None:
            options["budget_seconds"] = parse_budget(self.setting("policy", "budget"))
        return Agent(self.stores, policy, options, self.config.get("alerts") or {})

    # --- data ---
    def ingest_source(self, source: str | Path | pd.DataFrame, name: str, *, query: str | None = None,
                      on_error: str | None = None, pii: str | None = None, against: str | None = None,
                      contract: str | Path | None = None, progress=None) -> tuple[DatasetVersion, bool]:
        """Ingest a file, a folder, ``module:function``, a DataFrame, or (with ``query``) a SQLAlchemy URL.

        The contract checked is ``contract`` (a YAML file), else one inferred from ``against``, else the project's
        ``contracts/NAME.yaml`` when it exists; ``on_error`` (reject | quarantine | warn) defaults to
        ``data.on_error`` in conveyor.yaml, else reject. Returns (version, whether it was new)."""
        from conveyor.data import files, intake, sources

        check_name(name, "dataset name")
        if on_error is not None and on_error not in intake.ON_ERROR:
            raise BadInputError(f"Unknown --on-error {on_error!r}.", field="on_error",
                                hint=f"Use {', '.join(intake.ON_ERROR)}.")
        if pii is not None and pii not in ("drop", "hash"):
            raise BadInputError(f"Unknown --pii {pii!r}.", field="pii", hint="Use drop or hash.")
        rules = self._contract_for(name, against, contract)
        if on_error is not None and rules is None:
            raise BadInputError(f"--on-error needs a contract for {name!r}.", field="on_error",
                                hint=f"Write contracts/{name}.yaml with `conveyor data contract {name}@VERSION`, "
                                     "or pass --against or --contract.")
        if rules is not None:
            on_error = on_error or self.setting("data", "on_error", "reject")
        checked = rules is not None or pii is not None
        if query is not None:
            if checked:
                raise BadInputError("--pii and contracts apply to files and functions, not yet to SQL sources.",
                                    field="query", hint="Ingest the query result, then derive from it.")
            return sources.ingest_sql(self.stores, str(source), query, name)
        if isinstance(source, pd.DataFrame):
            return intake.ingest_checked(self.stores, source, name, contract=rules, on_error=on_error, pii=pii)
        text = str(source)
        path = Path(source) if Path(source).is_absolute() else Path.cwd() / source
        if not path.exists() and sources.is_function_ref(text):
            if checked:
                return intake.ingest_checked(self.stores, sources.call_function(text, self.root), name,
                                             source=f"python:{text}", contract=rules, on_error=on_error, pii=pii)
            return sources.ingest_function(self.stores, text, name, search_path=self.root)
        if path.is_dir():
            if checked:
                raise BadInputError(f"{path} is a folder of files; contracts and --pii apply to tables.",
                                    field="source", hint="Version the folder without them.")
            return files.add_files(self.stores, path, name, progress=progress)
        if checked:
            return intake.ingest_file_checked(self.stores, path, name, contract=rules, on_error=on_error, pii=pii)
        return datasets.ingest_file(self.stores, path, name, progress=progress)

    def add_files(self, path: str | Path, name: str, *, progress=None) -> tuple[DatasetVersion, bool]:
        """Version a file or a folder as bytes (like `dvc add`): a manifest of content-addressed files."""
        from conveyor.data.files import add_files

        return add_files(self.stores, path, name, progress=progress)

    def checkout(self, ref: str, dest: str | Path) -> int:
        from conveyor.data.files import checkout

        return checkout(self.stores, self.dataset(ref), dest)

    def contract_path(self, name: str) -> Path:
        return self.root / "contracts" / f"{check_name(name, 'dataset name')}.yaml"

    def _contract_for(self, name: str, against: str | None, contract: str | Path | None) -> dict[str, Any] | None:
        from conveyor.data import contracts

        if contract is not None:
            return contracts.read_contract(Path(contract))
        if against is not None:
            return contracts.infer_contract(self.dataset(against))
        path = self.contract_path(name)
        return contracts.read_contract(path) if path.is_file() else None

    def write_contract(self, ref: str, *, force: bool = False) -> tuple[Path, dict[str, Any]]:
        """Infer a contract from a version and write it to contracts/NAME.yaml for the user to edit."""
        from conveyor.core.errors import ConflictError
        from conveyor.data import contracts

        version = self.dataset(ref)
        path = self.contract_path(version.name)
        if path.exists() and not force:
            raise ConflictError(f"{path} exists and may hold your edits.", field="contract",
                                hint="Pass --force to replace it, or edit it by hand.")
        contract = contracts.infer_contract(version)
        contracts.write_contract(contract, path)
        return path, contract

    def validate(self, target: str | Path | pd.DataFrame, *, against: str | None = None,
                 contract: str | Path | None = None, name: str | None = None):
        """Check a dataset version, a file or a DataFrame against a contract; return the ValidationReport.
        A file or DataFrame is checked as a batch of dataset ``name`` (its contracts/NAME.yaml)."""
        from conveyor.data import contracts, readers

        if isinstance(target, pd.DataFrame):
            frame, label = target, "dataframe"
        elif Path(target).is_file():
            frame, label = readers.read_file(target), str(target)
        else:
            version = self.dataset(str(target))
            frame, name, label = datasets.load_frame(self.stores, version), version.name, version.ref
        name = name or (against.partition("@")[0] if against else None)
        rules = self._contract_for(name, against, contract) if name or contract else None
        if rules is None:
            raise BadInputError(f"No contract for {label}.", field="contract",
                                hint="Pass --name NAME (uses contracts/NAME.yaml), --against NAME@VERSION or "
                                     "--contract FILE.")
        return contracts.validate(rules, frame, label)

    def data_log(self, name: str) -> list[dict[str, Any]]:
        from conveyor.data.history import log

        return log(self.datasets(name))

    def diff(self, a: str, b: str) -> dict[str, Any]:
        from conveyor.data.diff import diff_versions

        return diff_versions(self.dataset(a), self.dataset(b))

    def diff_html(self, a: str, b: str) -> str:
        from conveyor.data.diff import diff_html, diff_versions

        first, second = self.dataset(a), self.dataset(b)
        return diff_html(diff_versions(first, second), first, second)

    def lineage(self, ref: str) -> dict[str, Any]:
        from conveyor.data.lineage import lineage

        return lineage(self.stores, self.dataset(ref))

    def scan_pii(self, ref: str) -> list[dict[str, Any]]:
        from conveyor.data.pii import scan_frame

        return scan_frame(self.load_frame(ref))

    def filter_dataset(self, ref: str, query: str, name: str) -> DatasetVersion:
        from conveyor.data.lineage import filter_rows

        return filter_rows(self.stores, self.dataset(ref), query, name)

    def split_dataset(self, ref: str, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[DatasetVersion, ...]:
        from conveyor.data.lineage import split

        return split(self.stores, self.dataset(ref), test_fraction=test_fraction, seed=seed)

    def join_datasets(self, left: str, right: str, on: list[str], name: str, how: str = "inner") -> DatasetVersion:
        from conveyor.data.lineage import join

        return join(self.stores, self.dataset(left), self.dataset(right), on, name, how)

    def build_features(self, ref: str, function, name: str) -> DatasetVersion:
        from conveyor.data.lineage import build_features

        return build_features(self.stores, self.dataset(ref), function, name)


def _setting_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInputError(f"{field} must be a whole number of at least 1, got {value!r}.", field=field,
                            hint=f"Fix {field} in conveyor.yaml.")
    return value


def serving_app(project: Project, ref: str, **options: Any) -> FastAPI:
    """An ASGI app serving ``ref`` from ``project``, to run with any ASGI server or mount in another app."""
    return project.serving_app(ref, **options)
