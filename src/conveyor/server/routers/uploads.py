"""``/api/v1/uploads``: chunked, resumable uploads of Parquet files, then ingested as a dataset version.

1. ``POST /uploads {"size": BYTES, "filename"?}`` -> ``{"id", "offset": 0, "size"}``
2. ``PATCH /uploads/ID?offset=N`` with an ``application/octet-stream`` chunk -> ``{"offset"}`` (409 names the
   offset to resume from; a chunk that did not fully arrive is not kept)
3. ``GET /uploads/ID`` -> where it stands
4. ``POST /uploads/ID/ingest {"name", "on_error"?, "pii"?, "against"?}`` -> ``{"version", "created"}``; the upload
   is deleted

The client reads files and SQL itself and sends Parquet; the server never fetches a user's URL."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from conveyor.core.errors import BadInputError, PayloadTooLargeError, first_line
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body, limits_of, read_body, require_type
from conveyor.server.paging import as_json
from conveyor.server.uploads import Area

router = APIRouter(prefix="/uploads", tags=["uploads"])
Body = Annotated[dict[str, Any], Depends(json_body)]
INGEST_OPTIONS = ("on_error", "pii", "against")


@router.post("", status_code=201, dependencies=[requires("data.write")])
def start(request: Request, uploads: Area, body: Body) -> dict[str, Any]:
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise BadInputError(f"size must be the file's length in bytes, not {size!r}.", field="size")
    limit = limits_of(request).max_upload
    if size > limit:
        raise PayloadTooLargeError(f"An upload of {size} bytes is over the server's limit of {limit} bytes.",
                                   field="size", hint="Split the data into several datasets, or raise the limit "
                                                      "(conveyor server --max-upload).")
    filename = body.get("filename", "upload.parquet")
    if not isinstance(filename, str):
        raise BadInputError("filename must be a string.", field="filename")
    return asdict(uploads.start(size, filename))


@router.get("/{upload_id}", dependencies=[requires("data.write")])
def status(uploads: Area, upload_id: str) -> dict[str, Any]:
    return asdict(uploads.get(upload_id))


@router.patch("/{upload_id}", dependencies=[requires("data.write")])
async def append(request: Request, uploads: Area, upload_id: str,
                 offset: Annotated[int, Query(ge=0)]) -> dict[str, Any]:
    """Append one chunk at ``offset``; the whole chunk is read before anything is written."""
    require_type(request, "application/octet-stream")
    uploads.get(upload_id)
    chunk = await read_body(request, limits_of(request).max_body)
    return asdict(uploads.append(upload_id, offset, chunk))


@router.post("/{upload_id}/ingest", dependencies=[requires("data.write", dataset="body.name")])
def ingest(project: ProjectDep, uploads: Area, upload_id: str, body: Body) -> dict[str, Any]:
    """Ingest a complete upload (a Parquet file) as a version of ``name``, with the server project's contract
    (contracts/NAME.yaml) and the ``on_error``, ``pii`` and ``against`` options of `conveyor data ingest`."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadInputError("An ingest needs name (the dataset's name).", field="name")
    unknown = sorted(set(body) - {"name", *INGEST_OPTIONS})
    if unknown:
        raise BadInputError(f"Unknown ingest option {unknown[0]!r}.", field=unknown[0],
                            hint=f"Use {', '.join(INGEST_OPTIONS)}.")
    import pyarrow as pa  # deferred: not needed to answer anything but an ingest
    import pyarrow.parquet as pq

    path = uploads.finished(upload_id)
    try:
        frame = pq.read_table(io.BytesIO(path.read_bytes())).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise BadInputError(f"Upload {upload_id} is not a Parquet file: {first_line(exc)}", field="upload",
                            hint="Upload the table as Parquet (the conveyor client does this).") from None
    version, created = project.data.ingest(frame, name, **{k: body[k] for k in INGEST_OPTIONS if k in body})
    uploads.remove(upload_id)
    item = as_json(version)
    item.pop("profile", None)
    return {"version": item, "created": created}
