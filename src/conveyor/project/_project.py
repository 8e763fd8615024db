"""The Project: a folder with conveyor.yaml, its stores, its typed configuration, and one sub-API per noun of the
CLI (``project.data``, ``project.runs``, ``project.models``, ``project.monitoring``, ``project.training``,
``project.identities``, ``project.audit_trail``).

Adding a sub-API is one module (a Protocol and its local implementation on :class:`LocalAPI`) and one line here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from conveyor.core.config import ProjectConfig
from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.core.refs import check_name
from conveyor.core.settings import PROJECT_FILE, STATE_DIR, Settings, find_project_root
from conveyor.execution import check_executor
from conveyor.project._base import SubAPI
from conveyor.project._deprecated import FlatAliases
from conveyor.project.audit import audit_sealing, model_signing
from conveyor.store import Stores
from conveyor.store.encryption import load_keyring

if TYPE_CHECKING:
    from fastapi import FastAPI

    from conveyor.project.audit import AuditAPI
    from conveyor.project.connections import ConnectionsAPI
    from conveyor.project.data import DataAPI
    from conveyor.project.features import FeaturesAPI
    from conveyor.project.feedback import FeedbackAPI
    from conveyor.project.identities import IdentitiesAPI
    from conveyor.project.models import ModelsAPI
    from conveyor.project.monitoring import MonitoringAPI
    from conveyor.project.operations import OperationsAPI
    from conveyor.project.pipelines import PipelinesAPI
    from conveyor.project.runs import RunsAPI
    from conveyor.project.training import TrainingAPI

DEFAULT_CONFIG: dict[str, Any] = {
    "data": {},
    "train": {"task": "auto", "budget": "60s", "search": "bayesian"},
    "retrain": {"min_improvement": 0.0, "holdout_fraction": 0.2},
}


class Project(FlatAliases):
    """A project folder: ``Project.open(path)`` or ``Project.init(path)``, then its sub-APIs."""

    # each sub-API's module is imported on first use (pandas and the training stack only when a verb needs them)
    data: SubAPI[DataAPI] = SubAPI("conveyor.project.data:LocalData")
    runs: SubAPI[RunsAPI] = SubAPI("conveyor.project.runs:LocalRuns")
    models: SubAPI[ModelsAPI] = SubAPI("conveyor.project.models:LocalModels")
    monitoring: SubAPI[MonitoringAPI] = SubAPI("conveyor.project.monitoring:LocalMonitoring")
    training: SubAPI[TrainingAPI] = SubAPI("conveyor.project.training:LocalTraining")
    identities: SubAPI[IdentitiesAPI] = SubAPI("conveyor.project.identities:LocalIdentities")
    audit_trail: SubAPI[AuditAPI] = SubAPI("conveyor.project.audit:LocalAudit")  # `audit`: deprecated alias until 0.3
    features: SubAPI[FeaturesAPI] = SubAPI("conveyor.project.features:LocalFeatures")
    pipelines: SubAPI[PipelinesAPI] = SubAPI("conveyor.project.pipelines:LocalPipelines")
    feedback: SubAPI[FeedbackAPI] = SubAPI("conveyor.project.feedback:LocalFeedback")
    connections: SubAPI[ConnectionsAPI] = SubAPI("conveyor.project.connections:LocalConnections")
    operations: SubAPI[OperationsAPI] = SubAPI("conveyor.project.operations:LocalOperations")

    def __init__(self, root: Path, config: ProjectConfig | dict[str, Any], stores: Stores,
                 settings: Settings | None = None) -> None:
        self.root = root
        self.config = config if isinstance(config, ProjectConfig) else ProjectConfig.parse(config)
        self.stores = stores
        self.settings = settings or _settings(root, self.config)
        stores.registry.sealing = audit_sealing(root, self.config)  # security.audit: the trail's key and anchor
        stores.signing = model_signing(root, self.config)  # security.models: model artifact signatures

    # opening
    @classmethod
    def init(cls, path: str | Path = ".", name: str | None = None) -> Project:
        """A new project at ``path`` (conveyor.yaml and the embedded store); an existing one is opened."""
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
        """The project at ``path`` (default: the nearest conveyor.yaml upward from here, else this folder); its
        conveyor.yaml is checked first, so a mistake there is reported before any work starts."""
        if path is not None and not Path(path).is_dir():
            raise BadInputError(f"No project folder at {path}.", field="project",
                                hint=f"Create one with `conveyor init {path}`.")
        root = find_project_root(Path(path) if path else None)
        config = ProjectConfig.load(root / PROJECT_FILE)
        settings = _settings(root, config)
        stores = Stores.open(settings.db_url, settings.artifacts_url, predictions_url=settings.predictions_url,
                             keyring=load_keyring(root, config.security.encryption))
        try:
            return cls(root, config, stores, settings)
        except BaseException:
            stores.close()
            raise

    def close(self) -> None:
        self.stores.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Project {self.config.name or self.root.name!r} at {self.root}>"

    # configuration
    def configure(self, section: str, **values: Any) -> None:
        """Set ``section.key`` values and write them to conveyor.yaml, so every later verb sees them. The whole
        file is checked first: a mistake raises BadInputError and nothing is written."""
        updated = self.config.with_values(section, values)
        settings = _settings(self.root, updated)
        config_file = self.root / PROJECT_FILE
        tmp = config_file.with_name(f".{PROJECT_FILE}.tmp")
        tmp.write_text(updated.dump())
        tmp.replace(config_file)
        self.config, self.settings = updated, settings

    # serving
    def serving_app(self, ref: str, **options: Any) -> FastAPI:
        """An ASGI app serving ``ref``: ``options`` (None: unset) over the serve: section of conveyor.yaml."""
        from conveyor.project.features import online_store_opener
        from conveyor.serve.app import create_app  # deferred: FastAPI

        merged = {**self.config.serve.options(), **{k: v for k, v in options.items() if v is not None}}
        merged.setdefault("online_store", online_store_opener(self))  # for a model trained on feature views
        return create_app(self.stores, ref, **merged)


def _settings(root: Path, config: ProjectConfig) -> Settings:
    """Where state lives, with the executor of train.executor unless CONVEYOR_EXECUTOR overrides it (checked: a
    typo must not silently run work inline)."""
    settings = Settings.for_project(root, executor=config.train.executor)
    try:
        check_executor(settings.executor)
    except ConveyorError as exc:
        raise exc.with_field("CONVEYOR_EXECUTOR" if os.environ.get("CONVEYOR_EXECUTOR") else "train.executor") \
            from None
    return settings


def serving_app(project: Project, ref: str, **options: Any) -> FastAPI:
    """An ASGI app serving ``ref`` from ``project``, to run with any ASGI server or mount in another app."""
    return project.serving_app(ref, **options)
