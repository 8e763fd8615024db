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

from conveyor.project._base import LocalAPI, SubAPI
from conveyor.project._project import Project, serving_app
from conveyor.project.audit import AuditAPI, LocalAudit
from conveyor.project.data import DataAPI, LocalData
from conveyor.project.features import FeaturesAPI, LocalFeatures
from conveyor.project.identities import IdentitiesAPI, LocalIdentities
from conveyor.project.models import LocalModels, ModelsAPI
from conveyor.project.monitoring import LocalMonitoring, MonitoringAPI
from conveyor.project.runs import LocalRuns, RunsAPI
from conveyor.project.training import LocalTraining, TrainingAPI

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
