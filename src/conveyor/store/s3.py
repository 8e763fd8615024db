"""The artifact store on S3 (or any S3-compatible server): ``s3://bucket/prefix`` through s3fs (the ``s3`` extra).

Same layout and contract as any :class:`~conveyor.store.artifacts.FsspecArtifactStore`, plus what an object store
needs:

* **Multipart uploads** for big objects: a blob (bytes or a file) larger than ``multipart_threshold`` is sent in
  parts of ``part_size`` bytes (S3's minimum part is 5 MiB), so a multi-gigabyte dataset never goes up in one request
  and a failed part is retried alone. S3 publishes the object only when the upload completes, so a reader never sees
  half a blob.
* **Retries on throttling** (``503 SlowDown``) and transient errors with botocore's ``standard`` retry mode (jittered
  exponential back-off) up to ``max_attempts`` attempts a request; that is the one retry policy (s3fs's own retry loop
  is set to a single try so the two do not multiply). A request still failing after that is a
  :class:`~conveyor.core.errors.StoreError` that names the store and the cause.

Settings come from the environment: the endpoint and credentials the AWS way (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``...), and ``CONVEYOR_S3_MULTIPART_THRESHOLD``, ``CONVEYOR_S3_PART_SIZE`` (bytes, or with a unit:
``64MiB``) and ``CONVEYOR_S3_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import fsspec

from conveyor.core.errors import BadInputError, StoreError, first_line
from conveyor.store.artifacts import FsspecArtifactStore
from conveyor.store.urls import mask

__all__ = ["MIN_PART_SIZE", "S3ArtifactStore", "s3_settings_from_env"]

MIN_PART_SIZE = 5 * 2**20  # S3's smallest part (every part but the last)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")

T = TypeVar("T")


def _size(name: str, text: str) -> int:
    match = _SIZE.match(text)
    if match is None or match[2].lower() not in _UNITS:
        raise BadInputError(f"{name}={text!r} is not a size.", field=name,
                            hint="Give bytes, or a number with a unit: 8MiB, 64MB, 1GiB.")
    return int(match[1]) * _UNITS[match[2].lower()]


def s3_settings_from_env(environ: dict[str, str] | None = None) -> dict[str, int]:
    """The keyword arguments of :class:`S3ArtifactStore` set in the environment (``CONVEYOR_S3_*``)."""
    env = os.environ if environ is None else environ
    settings: dict[str, int] = {}
    if env.get("CONVEYOR_S3_MULTIPART_THRESHOLD"):
        settings["multipart_threshold"] = _size("CONVEYOR_S3_MULTIPART_THRESHOLD",
                                                env["CONVEYOR_S3_MULTIPART_THRESHOLD"])
    if env.get("CONVEYOR_S3_PART_SIZE"):
        settings["part_size"] = _size("CONVEYOR_S3_PART_SIZE", env["CONVEYOR_S3_PART_SIZE"])
    if env.get("CONVEYOR_S3_MAX_ATTEMPTS"):
        text = env["CONVEYOR_S3_MAX_ATTEMPTS"]
        if not text.strip().isdigit() or int(text) < 1:
            raise BadInputError(f"CONVEYOR_S3_MAX_ATTEMPTS={text!r} is not a positive whole number.",
                                field="CONVEYOR_S3_MAX_ATTEMPTS", hint="For example 10.")
        settings["max_attempts"] = int(text)
    return settings


def _store_errors(method: Callable[..., T]) -> Callable[..., T]:
    """A failure talking to S3 (after the retries) as a StoreError; a missing object stays FileNotFoundError."""

    @functools.wraps(method)
    def wrapper(self: S3ArtifactStore, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except FileNotFoundError:
            raise
        except (OSError, TimeoutError) as exc:
            throttled = "SlowDown" in str(exc) or "reduce your request rate" in str(exc)
            raise StoreError(
                f"The artifact store at {mask(self.url)} failed after {self.max_attempts} attempts: "
                f"{first_line(exc)}",
                field="CONVEYOR_ARTIFACTS",
                hint=("S3 is throttling this prefix: retry later or raise CONVEYOR_S3_MAX_ATTEMPTS." if throttled else
                      "Check the endpoint (AWS_ENDPOINT_URL), the credentials and the bucket."),
            ) from None
    return wrapper


class S3ArtifactStore(FsspecArtifactStore):
    """``s3://bucket/prefix``: multipart above ``multipart_threshold`` bytes, ``max_attempts`` tries a request."""

    def __init__(self, url: str, *, multipart_threshold: int = 64 * 2**20, part_size: int = 16 * 2**20,
                 max_attempts: int = 10) -> None:
        if part_size < MIN_PART_SIZE:
            raise BadInputError(f"An S3 part of {part_size} bytes is smaller than S3's minimum of 5 MiB.",
                                field="CONVEYOR_S3_PART_SIZE", hint="Use at least 5MiB.")
        self.multipart_threshold = max(multipart_threshold, part_size)
        self.part_size = part_size
        self.max_attempts = max_attempts
        self.url = url
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        self.fs, self.root = fsspec.core.url_to_fs(  # the endpoint is named so fsspec's cache keys on it
            url, endpoint_url=endpoint, default_block_size=part_size,
            config_kwargs={"retries": {"total_max_attempts": max_attempts, "mode": "standard"}})
        self.fs.retries = 1  # botocore's policy above is the one retry loop
        self._local = False
        self._makedirs(self.root)

    @_store_errors
    def _makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    @_store_errors
    def _write(self, digest: str, data: bytes) -> None:
        if len(data) <= self.multipart_threshold:
            self.fs.pipe_file(self._path(digest), bytes(data))
            return
        view = memoryview(data)
        self._multipart(digest, (view[start:start + self.part_size] for start in range(0, len(view), self.part_size)))

    @_store_errors
    def _write_file(self, digest: str, path: str | os.PathLike[str]) -> None:
        if os.path.getsize(path) <= self.multipart_threshold:
            self.fs.put_file(os.fspath(path), self._path(digest))
            return
        with open(path, "rb") as source:  # streamed from disk, one part in memory at a time
            self._multipart(digest, iter(lambda: source.read(self.part_size), b""))

    def _multipart(self, digest: str, parts: Iterator[bytes | memoryview]) -> None:
        # each part_size piece fills s3fs's buffer to its block size, which sends it as one part; S3 publishes the
        # object when the upload completes (an upload abandoned half way is aborted and leaves nothing)
        with self.fs.open(self._path(digest), "wb", block_size=self.part_size) as handle:
            for part in parts:
                handle.write(part)

    @_store_errors
    def _read(self, digest: str) -> bytes:
        data: bytes = self.fs.cat_file(self._path(digest))
        return data

    @_store_errors
    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    @_store_errors
    def digests(self) -> list[str]:
        self.fs.invalidate_cache(self.root)
        return super().digests()
