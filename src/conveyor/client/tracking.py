"""``project.runs.start()`` against a server: the same tracked run as
:class:`~conveyor.train.tracking.ActiveRun` (params, metrics with steps, tags, artifacts, a model, the end status),
written through ``/api/v1/runs``. The code runs here, so its environment tags (git commit, packages) are this
machine's; values are checked here as a local run checks them, before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.client.data import RemoteData
from conveyor.client.http import Connection
from conveyor.client.models import model_from
from conveyor.core.artifact_bytes import artifact_bytes
from conveyor.core.entities import ModelVersion, Run
from conveyor.core.numbers import finite_number

DIRECT_ARTIFACT = 8 * 1024 * 1024  # larger artifacts go through the resumable upload area
METRICS_PER_REQUEST = 1000  # the server's batch cap


class RemoteActiveRun:
    """A run being recorded on a server. Leaving the ``with`` block ends it as finished, or as failed on an
    exception (its error kept as a tag)."""

    def __init__(self, connection: Connection, run: Run) -> None:
        self.connection = connection
        self.run = run
        self._path = f"/runs/{quote(run.id)}"

    @property
    def id(self) -> str:
        return self.run.id

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        self.connection.post(f"{self._path}/params", {"params": {str(k): str(v) for k, v in params.items()}})

    def set_tags(self, tags: dict[str, Any]) -> None:
        self.connection.post(f"{self._path}/tags", {"tags": {str(k): str(v) for k, v in tags.items()}})

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_batch([(key, value, step)])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        self.log_batch([(k, v, step) for k, v in metrics.items()])

    def log_batch(self, metrics: list[tuple[str, float, int]]) -> None:
        """Many (key, value, step) triples; sent in batches of up to 1,000."""
        checked = [{"key": k, "value": finite_number(k, v), "step": int(s)} for k, v, s in metrics]
        for start in range(0, len(checked), METRICS_PER_REQUEST):
            self.connection.post(f"{self._path}/metrics", {"metrics": checked[start:start + METRICS_PER_REQUEST]})

    def log_artifact(self, name: str, data: bytes | str | Path | dict) -> str:
        payload = artifact_bytes(data)
        where = f"{self._path}/artifacts/{quote(name)}"
        if len(payload) <= DIRECT_ARTIFACT:
            answer = self.connection.request("PUT", where, content=payload,
                                             headers={"Content-Type": "application/octet-stream"}).json()
        else:
            upload = RemoteData(self.connection).upload(payload, filename=Path(name).name or "artifact")
            answer = self.connection.post(where, {"upload": upload})
        return str(answer["digest"])

    def log_model(self, model: Any, name: str, *, input_example: Any = None,
                  signature: dict[str, Any] | None = None, metrics: dict[str, float] | None = None,
                  meta: dict[str, Any] | None = None, package: bytes | None = None) -> ModelVersion:
        """Package the model here (unless ``package`` holds its bytes already) and register it on the server as a
        version of ``name`` produced by this run."""
        from conveyor.registry.models import build_signature  # deferred: the model stack
        from conveyor.registry.packaging import detect_flavor, dump_model

        flavor = detect_flavor(model)
        signature = signature or build_signature(model, flavor, input_example)
        package = package if package is not None else dump_model(model, flavor)
        upload = RemoteData(self.connection).upload(package, filename=f"{name}.model")
        body: dict[str, Any] = {"upload": upload, "flavor": flavor, "signature": signature, "run_id": self.id,
                                "meta": meta or {}}
        if metrics is not None:
            body["metrics"] = {k: finite_number(k, v) for k, v in metrics.items()}
        version = model_from(self.connection.post(f"/models/{quote(name)}/versions", body))
        self.set_tags({"model_version": version.ref})
        return version

    def end(self, status: str = "finished", error: str | None = None) -> Run:
        body = {"status": status, **({"error": error} if error else {})}
        return Run(**self.connection.post(f"{self._path}/end", body))

    def __enter__(self) -> RemoteActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.end("failed" if exc_type else "finished",
                 f"{exc_type.__name__}: {exc}"[:500] if exc_type is not None else None)


def start_remote_run(connection: Connection, *, name: str | None = None, dataset: str | None = None,
                     tags: dict[str, Any] | None = None) -> RemoteActiveRun:
    """Create the run on the server, tagged with this machine's environment (where the code runs)."""
    from conveyor.core.environment import environment_tags

    all_tags = {k: str(v) for k, v in {**environment_tags(Path.cwd()), **(tags or {})}.items()}
    body = {"name": name, "dataset": dataset, "tags": all_tags}
    created = connection.post("/runs", {k: v for k, v in body.items() if v is not None})
    return RemoteActiveRun(connection, Run(**created))
