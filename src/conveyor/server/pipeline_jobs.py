"""Pipeline runs as jobs of ``/api/v1/jobs`` (a :class:`~conveyor.server.jobs.JobSource`): whatever started them
(`conveyor pipelines run`, an agent, a schedule, the webhook route), they are listed beside the server's own jobs.
A run's job id is its run id; its kind is ``pipeline``; ``result`` holds the run's pipeline, trigger and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.store.pipelines import PipelineRun

if TYPE_CHECKING:
    from conveyor.project import Project

STATUS = {"running": "running", "succeeded": "done", "failed": "failed"}


def as_job(run: PipelineRun) -> dict[str, Any]:
    return {"id": run.id, "kind": "pipeline", "status": STATUS.get(run.status, run.status),
            "params": {"pipeline": run.pipeline, "trigger": run.trigger, **run.params},
            "created_at": run.started_at, "started_at": run.started_at, "ended_at": run.ended_at,
            "result": {"pipeline": run.pipeline, "run": run.id, "status": run.status, "outputs": run.outputs},
            "error": None if run.error is None else {"error": "pipeline_failed", "message": run.error,
                                                     "field": None, "hint": None},
            "log": []}


class PipelineRunJobs:
    """The project's pipeline runs, newest first, as jobs."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def list(self, limit: int) -> list[dict[str, Any]]:
        return [as_job(run) for run in self.project.stores.pipelines.runs(limit=limit)]

    def get(self, job_id: str) -> dict[str, Any] | None:
        run = self.project.stores.pipelines.get_run(job_id)
        return as_job(run) if run is not None else None
