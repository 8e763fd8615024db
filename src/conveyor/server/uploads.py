"""The upload area: a file arrives in chunks, each appended only once it has fully arrived, so a client that
disconnects mid-chunk leaves the upload as it was before that chunk (resume from ``offset``). A finished upload is
a Parquet file the project ingests; it is deleted after use.

Layout under ``.conveyor/uploads/``: ``ID.part`` (bytes so far) and ``ID.json`` (declared size, name)."""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from conveyor.core.errors import BadInputError, ConflictError, NotFoundError

ID_BYTES = 12


@dataclass
class Upload:
    id: str
    size: int  # declared total bytes
    offset: int  # bytes received so far
    filename: str = "upload.parquet"

    @property
    def complete(self) -> bool:
        return self.offset == self.size


class UploadArea:
    """Uploads in progress under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def start(self, size: int, filename: str = "upload.parquet") -> Upload:
        if size < 0:
            raise BadInputError(f"Upload size {size} is negative.", field="size")
        self.root.mkdir(parents=True, exist_ok=True)
        upload = Upload(secrets.token_hex(ID_BYTES), size, 0, Path(filename).name or "upload.parquet")
        self._part(upload.id).write_bytes(b"")
        self._meta(upload.id).write_text(json.dumps(asdict(upload)))
        return upload

    def get(self, upload_id: str) -> Upload:
        if not (len(upload_id) == 2 * ID_BYTES and all(c in "0123456789abcdef" for c in upload_id)) \
                or not self._meta(upload_id).is_file():
            raise NotFoundError(f"Unknown upload {upload_id!r}.", field="upload",
                                hint="Start one with POST /api/v1/uploads; an ingested upload is gone.")
        meta = json.loads(self._meta(upload_id).read_text())
        return Upload(meta["id"], meta["size"], self._part(upload_id).stat().st_size, meta["filename"])

    def append(self, upload_id: str, offset: int, chunk: bytes) -> Upload:
        """Append ``chunk`` at ``offset`` (409 with the real offset when it differs: resume from there)."""
        with self._lock:
            upload = self.get(upload_id)
            if offset != upload.offset:
                raise ConflictError(f"Upload {upload_id} has {upload.offset} bytes, not {offset}.", field="offset",
                                    hint=f"Resume with offset={upload.offset}.")
            if upload.offset + len(chunk) > upload.size:
                raise BadInputError(f"The chunk passes the declared size of upload {upload_id} ({upload.size} "
                                    "bytes).", field="size", hint="Start a new upload with the right size.")
            with self._part(upload_id).open("ab") as out:
                out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            upload.offset += len(chunk)
            return upload

    def finished(self, upload_id: str) -> Path:
        """The complete file of an upload (BadInputError while bytes are missing)."""
        upload = self.get(upload_id)
        if not upload.complete:
            raise BadInputError(f"Upload {upload_id} has {upload.offset} of {upload.size} bytes.", field="upload",
                                hint=f"Send the rest from offset={upload.offset}.")
        return self._part(upload_id)

    def remove(self, upload_id: str) -> None:
        self._part(upload_id).unlink(missing_ok=True)
        self._meta(upload_id).unlink(missing_ok=True)

    def _part(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    def _meta(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.json"


def area(request: Request) -> UploadArea:
    """The app's upload area (a route's dependency)."""
    return request.app.state.uploads


Area = Annotated[UploadArea, Depends(area)]
