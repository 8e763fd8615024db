"""``project.data`` against a server: the client reads the source itself (file, folder, SQL, ``module:function``,
DataFrame) and uploads it as Parquet through ``/api/v1/uploads``; the server never fetches a user's URL."""

from __future__ import annotations

import builtins
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from conveyor.client._base import RemoteAPI
from conveyor.core.entities import DatasetVersion
from conveyor.data import sources
from conveyor.data.contracts import Failure, ValidationReport

CHUNK = 8 * 1024 * 1024
Progress = Callable[[int, int], None]
Ref = str | DatasetVersion


def _ref(ref: Ref) -> str:
    return quote(ref.ref if isinstance(ref, DatasetVersion) else ref, safe="@")


def version_from(item: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(**{"profile": {}, **item})


class RemoteData(RemoteAPI):
    """:class:`~conveyor.project.data.DataAPI` over a server."""

    def ingest(self, source: str | Path | pd.DataFrame, name: str, *, query: str | None = None,
               on_error: str | None = None, pii: str | None = None, against: str | None = None,
               contract: str | Path | None = None, progress: Progress | None = None
               ) -> tuple[DatasetVersion, bool]:
        if contract is not None:
            self._local_only("--contract FILE", "Keep the contract on the server as contracts/NAME.yaml, or pass "
                                                "--against NAME@VERSION.")
        if isinstance(source, pd.DataFrame):
            frame = source
        else:
            options = sources.IngestOptions(query=query, search_path=Path.cwd())
            frame = sources.source_for(source, options).read(source, options)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        upload_id = self.upload(buffer.getvalue(), progress=progress)
        options_body = {k: v for k, v in (("on_error", on_error), ("pii", pii), ("against", against)) if v}
        done = self.connection.post(f"/uploads/{upload_id}/ingest", {"name": name, **options_body})
        return version_from(done["version"]), bool(done["created"])

    def upload(self, data: bytes, *, filename: str = "upload.parquet", progress: Progress | None = None,
               chunk: int = CHUNK) -> str:
        """Send ``data`` in chunks (resuming from the server's offset after a refused chunk); the upload's id."""
        started = self.connection.post("/uploads", {"size": len(data), "filename": filename})
        upload_id, offset = started["id"], 0
        while offset < len(data):
            piece = data[offset:offset + chunk]
            answer = self.connection.request("PATCH", f"/uploads/{upload_id}", params={"offset": offset},
                                             content=piece,
                                             headers={"Content-Type": "application/octet-stream"}).json()
            offset = answer["offset"]
            if progress is not None:
                progress(offset, len(data))
        return upload_id

    def add(self, path: str | Path, name: str, *, progress: Progress | None = None) -> tuple[DatasetVersion, bool]:
        self._local_only("`conveyor data add` (file sets)")

    def get(self, ref: Ref) -> DatasetVersion:
        return version_from(self.connection.get(f"/datasets/{_ref(ref)}"))

    def list(self, name: str | None = None) -> builtins.list[DatasetVersion]:
        return [version_from(item) for item in self.connection.items("/datasets", name=name)]

    def log(self, name: str) -> builtins.list[dict[str, Any]]:
        return list(self.connection.items(f"/datasets/{quote(name)}/log"))

    def load_frame(self, ref: Ref) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.connection.content(f"/datasets/{_ref(ref)}/file")))

    def diff(self, a: str, b: str, *, html: str | Path | None = None) -> dict[str, Any]:
        if html is not None:
            self._local_only("The diff page (--html)")
        return self.connection.get("/datasets/diff", a=a, b=b)

    def diff_html(self, a: str, b: str) -> str:
        self._local_only("The diff page")

    def contract_path(self, name: str) -> Path:
        self._local_only("A contract's path")

    def contract(self, ref: str, *, force: bool = False) -> tuple[Path, dict[str, Any]]:
        done = self.connection.post("/datasets/contracts", {"ref": ref, "force": force})
        return Path(done["path"]), done["contract"]

    def validate(self, target: str | Path | pd.DataFrame, *, against: str | None = None,
                 contract: str | Path | None = None, name: str | None = None) -> ValidationReport:
        if isinstance(target, pd.DataFrame) or contract is not None or Path(target).is_file():
            self._local_only("Validating a local file or DataFrame", "Ingest it (the server checks its contract), "
                                                                     "or validate a stored NAME@VERSION.")
        body = {"ref": str(target), "against": against, "name": name}
        report = self.connection.post("/datasets/validate", {k: v for k, v in body.items() if v is not None})
        failures = [Failure(**f) for f in report["failures"]]
        return ValidationReport(report["rows"], report["checks"], failures, [], False)

    def filter(self, ref: Ref, query: str, name: str) -> DatasetVersion:
        return version_from(self.connection.post(f"/datasets/{_ref(ref)}/filter", {"query": query, "name": name}))

    def split(self, ref: Ref, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[DatasetVersion, ...]:
        parts = self.connection.post(f"/datasets/{_ref(ref)}/split", {"test_fraction": test_fraction, "seed": seed})
        return tuple(version_from(p) for p in parts)

    def join(self, left: Ref, right: Ref, on: builtins.list[str], name: str, how: str = "inner") -> DatasetVersion:
        self._local_only("join", "Join the frames locally and ingest the result.")

    def build_features(self, ref: Ref, function: Callable[[pd.DataFrame], pd.DataFrame], name: str
                       ) -> DatasetVersion:
        self._local_only("build_features", "Build the frame locally (load_frame) and ingest the result.")

    def lineage(self, ref: Ref) -> dict[str, Any]:
        return self.connection.get(f"/datasets/{_ref(ref)}/lineage")

    def scan(self, ref: Ref) -> builtins.list[dict[str, Any]]:
        return self.connection.get(f"/datasets/{_ref(ref)}/scan")

    def checkout(self, ref: Ref, dest: str | Path) -> int:
        self._local_only("checkout of file sets")
