"""The artifact store on a local folder with ``os`` calls alone: the layout of
:class:`~conveyor.store.artifacts.FsspecArtifactStore` on the same folder (``<root>/<d[:2]>/<d[2:]>``, temporary
files ``.tmp-*``, written whole and fsynced before the rename), without importing fsspec. ``conveyor data add``
uses it for a project's default artifact folder; each store reads what the other wrote (the artifact contract
and ``tests/store/test_local_artifacts.py`` check both)."""

from __future__ import annotations

import os

from conveyor.store.artifacts import ArtifactStore
from conveyor.store.copying import StreamedBlob, copy_in_hashing, publish_bytes, publish_copy

__all__ = ["LocalArtifactStore", "local_folder"]


def local_folder(url: str) -> str | None:
    """The absolute folder of a plain local path or ``file://`` URL, as fsspec resolves it; None for anything
    else (another scheme, a chained URL, a ``~`` path), which stays with FsspecArtifactStore."""
    if url.startswith("file://"):
        url = url[len("file://"):]
    if not url or "://" in url or "::" in url or url.startswith("~"):
        return None
    return os.path.abspath(url)


class LocalArtifactStore(ArtifactStore):
    """Blobs in a local folder (see the module docstring)."""

    def __init__(self, url: str) -> None:
        root = local_folder(url)
        if root is None:
            raise ValueError(f"{url!r} is not a local folder")
        self.url = url
        self.root = root
        os.makedirs(root, exist_ok=True)

    def _path(self, digest: str) -> str:
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def _write(self, digest: str, data: bytes) -> None:
        publish_bytes(self._path(digest), data)

    def blob_writer(self) -> StreamedBlob:
        return StreamedBlob(self.root, self._path, self.exists)

    def put_new_file(self, path: str | os.PathLike[str]) -> str:
        return copy_in_hashing(path, self.root, self._path, self.exists)

    def _write_file(self, digest: str, path: str | os.PathLike[str]) -> None:
        publish_copy(self._path(digest), path)

    def _read(self, digest: str) -> bytes:
        with open(self._path(digest), "rb") as handle:
            return handle.read()

    def exists(self, digest: str) -> bool:
        return os.path.exists(self._path(digest))

    def digests(self) -> list[str]:
        found = []
        for folder, _, files in os.walk(self.root):
            prefix = os.path.relpath(folder, self.root)
            if prefix == "." or os.sep in prefix:
                continue
            found += [prefix + name for name in files if not name.startswith(".tmp-")]
        return sorted(found)

    def _remove(self, name: str) -> int:
        path = self._path(name)
        try:
            size = os.path.getsize(path)
            os.remove(path)
        except FileNotFoundError:
            return 0
        return size

    def _modified(self, name: str) -> float | None:
        try:
            return os.path.getmtime(self._path(name))
        except FileNotFoundError:
            return None
