"""L4: the Python API's facade. A :class:`Project` is a folder with conveyor.yaml and its stores; its sub-APIs are
named like the CLI's nouns, with methods named like its verbs:

    import conveyor as cv
    project = cv.Project.init("churn")
    ds, _ = project.data.ingest("train.csv", name="churn")
    result = project.training.train(ds, target="churned", budget="60s")
    project.models.promote(result.model_version.ref, alias="champion")
    report = project.monitoring.monitor("churn@champion", current=new_ds)

Each sub-API's public surface is a Protocol (:class:`DataAPI`, :class:`RunsAPI`, :class:`ModelsAPI`,
:class:`MonitoringAPI`, :class:`TrainingAPI`, :class:`IdentitiesAPI`, :class:`AuditAPI`, :class:`FeaturesAPI`) that a
remote client can implement; ``Local*`` work on this machine's stores. This layer only composes the domain modules;
the CLI and servers only translate to and from it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from conveyor.project._base import LocalAPI, SubAPI
from conveyor.project._project import Project, serving_app

# the sub-APIs' modules load on first use (PEP 562): opening a project does not import pandas
_LAZY = {"AuditAPI": "audit", "LocalAudit": "audit", "DataAPI": "data", "LocalData": "data",
         "FeaturesAPI": "features", "LocalFeatures": "features", "IdentitiesAPI": "identities",
         "LocalIdentities": "identities", "LocalModels": "models", "ModelsAPI": "models",
         "LocalMonitoring": "monitoring", "MonitoringAPI": "monitoring", "LocalRuns": "runs", "RunsAPI": "runs",
         "LocalTraining": "training", "TrainingAPI": "training"}

if TYPE_CHECKING:
    from conveyor.project.audit import AuditAPI, LocalAudit
    from conveyor.project.data import DataAPI, LocalData
    from conveyor.project.features import FeaturesAPI, LocalFeatures
    from conveyor.project.identities import IdentitiesAPI, LocalIdentities
    from conveyor.project.models import LocalModels, ModelsAPI
    from conveyor.project.monitoring import LocalMonitoring, MonitoringAPI
    from conveyor.project.runs import LocalRuns, RunsAPI
    from conveyor.project.training import LocalTraining, TrainingAPI


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"conveyor.project.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'conveyor.project' has no attribute {name!r}")

__all__ = [
    "AuditAPI",
    "DataAPI",
    "FeaturesAPI",
    "IdentitiesAPI",
    "LocalAPI",
    "LocalAudit",
    "LocalData",
    "LocalFeatures",
    "LocalIdentities",
    "LocalModels",
    "LocalMonitoring",
    "LocalRuns",
    "LocalTraining",
    "ModelsAPI",
    "MonitoringAPI",
    "Project",
    "RunsAPI",
    "SubAPI",
    "TrainingAPI",
    "serving_app",
]
