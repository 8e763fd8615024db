"""``/api/v1/training``: what a training would use under the server's conveyor.yaml. Training itself is a job
(``POST /api/v1/jobs {"kind": "train"}``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep

router = APIRouter(prefix="/training", tags=["training"])


@router.get("/budget", dependencies=[requires("read")])
def budget(project: ProjectDep, budget: str | None = None, retrain: bool = False) -> dict[str, Any]:
    """Seconds a search would run: ``budget`` when given, else retrain.budget (``retrain``), else train.budget."""
    return {"seconds": project.training.budget(budget, retrain=retrain)}


@router.get("/options", dependencies=[requires("read")])
def options(project: ProjectDep) -> dict[str, Any]:
    """The data: and train: settings a client's own training uses (`conveyor train` against this server trains
    on the client and logs here). Gates are not among them: the server applies its own to what is logged, and
    neither are what only this host has (a study storage, the executor)."""
    from conveyor.project._options import train_options

    config = project.config
    given = train_options(project, executor=False)
    kept = ("families", "feature_selection", "folds", "ensemble", "sensitive", "slice_column", "intended_use",
            "evaluate")
    return {"target": config.data.target, "time_column": config.data.time_column, "task": config.train.task,
            "metric": config.train.metric, "search": config.train.search, **{k: given[k] for k in kept}}
