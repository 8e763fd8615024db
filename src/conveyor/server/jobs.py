"""Long work (training, retraining) as jobs: started by ``POST /api/v1/jobs``, polled by ``GET /api/v1/jobs/ID``.

The jobs router reads every job from one :class:`JobBoard`, which lists the jobs of its :class:`JobSource` s: the
built-in :class:`FileJobs` (work this server runs) and any other source added with ``board.sources.append(...)``
(pipeline runs, say). A job is a JSON document::

    {"id", "kind", "status": queued | running | done | failed, "params", "created_at", "started_at", "ended_at",
     "result", "error", "log": [lines]}

:class:`FileJobs` keeps each job as ``.conveyor/jobs/ID.json`` (written atomically), so every worker process of the
server answers for every job, and a job survives a restart of the server (a job that was running when its worker
stopped is reported as failed)."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError
from conveyor.core.settings import STATE_DIR
from conveyor.server.work import KINDS

if TYPE_CHECKING:
    from conveyor.project import Project

Work = Callable[["Project", dict[str, Any], Callable[[str], None]], dict[str, Any]]
MAX_LOG_LINES = 1000


class JobSource(Protocol):
    """Where jobs come from. ``list`` returns up to ``limit`` jobs, newest first; ``get`` one job or None."""

    def list(self, limit: int) -> list[dict[str, Any]]: ...

    def get(self, job_id: str) -> dict[str, Any] | None: ...


class FileJobs:
    """Jobs this server runs, one thread at a time per worker process, kept as JSON files under ``root``."""

    def __init__(self, root: Path, project: Project, kinds: dict[str, Work], workers: int = 1) -> None:
        self.root = root
        self.project = project
        self.kinds = kinds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conveyor-job")
        self._lock = threading.Lock()

    def start(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        if kind not in self.kinds:
            raise NotFoundError.for_name("job kind", kind, self.kinds).with_field("kind")
        if not isinstance(params, dict):
            raise BadInputError("A job's params must be a JSON object.", field="params")
        self.root.mkdir(parents=True, exist_ok=True)
        job: dict[str, Any] = {"id": secrets.token_hex(8), "kind": kind, "status": "queued", "params": params,
               "created_at": time.time(), "started_at": None, "ended_at": None, "result": None, "error": None,
               "log": [], "pid": os.getpid()}
        self._write(job)
        self._pool.submit(self._run, job)
        return job

    def list(self, limit: int) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        files = sorted(self.root.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        jobs = (self._read(p) for p in files[:limit])
        return sorted((j for j in jobs if j is not None), key=lambda j: j["created_at"], reverse=True)

    def get(self, job_id: str) -> dict[str, Any] | None:
        if not job_id.isalnum():
            return None
        return self._read(self.root / f"{job_id}.json")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: dict[str, Any]) -> None:
        def say(line: str) -> None:
            with self._lock:
                if len(job["log"]) < MAX_LOG_LINES:
                    job["log"].append(line)

        job.update(status="running", started_at=time.time())
        self._write(job)
        try:
            result = self.kinds[job["kind"]](self.project, dict(job["params"]), say)
            job.update(status="done", result=result)
        except ConveyorError as exc:
            job.update(status="failed", error={"error": exc.code, "message": exc.message, "field": exc.field,
                                               "hint": exc.hint})
        except Exception as exc:  # a bug in the work: the job fails, the server stays up
            job.update(status="failed", error={"error": "internal", "message": f"{type(exc).__name__}: {exc}",
                                               "field": None, "hint": "The server's log has the details."})
        job["ended_at"] = time.time()
        self._write(job)

    def _write(self, job: dict[str, Any]) -> None:
        path = self.root / f"{job['id']}.json"
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        with self._lock:
            tmp.write_text(json.dumps(job, default=str))
            tmp.replace(path)

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            job = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if job["status"] in ("queued", "running") and not _alive(job.get("pid")):
            job.update(status="failed", error={"error": "interrupted", "message": "The server stopped while this "
                                               "job ran.", "field": None, "hint": "Start it again."})
        return job


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobBoard:
    """Every job the server knows: ``runner`` starts new ones; ``sources`` (the runner first) are listed."""

    def __init__(self, runner: FileJobs, sources: list[JobSource] | None = None) -> None:
        self.runner = runner
        self.sources: list[JobSource] = [runner, *(sources or [])]

    @classmethod
    def for_project(cls, project: Project) -> JobBoard:
        from conveyor.server.pipeline_jobs import PipelineRunJobs

        return cls(FileJobs(project.root / STATE_DIR / "jobs", project, KINDS), [PipelineRunJobs(project)])

    def list(self, limit: int) -> list[dict[str, Any]]:
        found = [job for source in self.sources for job in source.list(limit)]
        return sorted(found, key=lambda j: j.get("created_at") or 0, reverse=True)[:limit]

    def get(self, job_id: str) -> dict[str, Any]:
        for source in self.sources:
            job = source.get(job_id)
            if job is not None:
                return job
        raise NotFoundError(f"Unknown job {job_id!r}.", field="job", hint="List jobs with GET /api/v1/jobs.")
