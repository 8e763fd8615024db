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
