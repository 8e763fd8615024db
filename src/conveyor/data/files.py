"""File-set versions: a file or a folder of files (images, documents, CSV parts) versioned as bytes, like `dvc add`.

Each file is a blob in the artifact store, addressed by the BLAKE3 hash of its bytes; the version is its manifest
(sorted relative path, size, digest per file), stored as a blob too, and the version id is the hash of that
manifest. A folder where one file changed therefore stores one new blob and one new manifest, and adding an
unchanged folder again costs reading and hashing its files and writes nothing.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import blake3

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, IntegrityError, NotFoundError
from conveyor.core.refs import check_name
from conveyor.data.folder_cache import FolderCache, fingerprint, newest_change
from conveyor.data.hash_cache import HashCache

if TYPE_CHECKING:
    from conveyor.store.artifacts import ArtifactStore
    from conveyor.store.datasets import DatasetStore


class Stores(Protocol):
    """What file sets use of :class:`conveyor.store.Stores`: the datasets role and the artifact store (so the
    CLI's `data add` can hand in the two it opened without SQLAlchemy, see conveyor.cli.fast_add)."""

    datasets: DatasetStore
    artifacts: ArtifactStore

LARGE_FILE = 64 * 1024 * 1024
"""Files above this are hashed memory-mapped on every core and copied by the kernel, never read into Python."""

PACKED_FILE = 1024 * 1024
"""Files up to this size are packed together (see ``_Pack``); larger ones are blobs of their own."""
PACK_BYTES = 128 * 1024 * 1024

SKIPPED = {".git", ".conveyor", ".dvc"}
"""Tool state inside a versioned folder is not data."""

MANIFEST_COLUMNS = [{"name": "path", "dtype": "str", "kind": "categorical"},
                    {"name": "bytes", "dtype": "int64", "kind": "numeric"},
                    {"name": "digest", "dtype": "str", "kind": "categorical"}]


_SCANDIR_FD = os.scandir in os.supports_fd
"""Where a directory can be listed by descriptor, its files are stat-ed relative to it (``fstatat``): the kernel
resolves one name per file instead of the whole path."""


def list_files(root: Path, *, stat: bool = False) -> list[tuple[str, str, os.stat_result | None]]:
    """(relative POSIX path, path, its stat when ``stat`` is asked for in a folder, else None) of every regular file
    under ``root``, sorted; a file alone is its own set."""
    if not root.exists():
        raise BadInputError(f"Not found: {root}.", field="source", hint="Check the path.")
    if root.is_file():
        return [(root.name, os.fspath(root), None)]
    found: list[tuple[str, str, os.stat_result | None]] = []
    inside = root.resolve()
    folders = [("", os.path.join(os.fspath(root), ""))]
    while folders:  # scandir: the directory listing already says which entries are files, no stat per file
        prefix, folder = folders.pop()
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY) if _SCANDIR_FD else None
        try:
            with os.scandir(folder if fd is None else fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED:
                            folders.append((prefix + entry.name + "/", folder + entry.name + "/"))
                    elif entry.is_file():
                        path = folder + entry.name
                        if entry.is_symlink() and not Path(path).resolve().is_relative_to(inside):
                            raise BadInputError(f"{path} is a symbolic link to {Path(path).resolve()}, "
                                                f"outside {root}.", field="source",
                                                hint="Copy the file into the folder, or remove the link.")
                        found.append((prefix + entry.name, path, entry.stat() if stat else None))
        finally:
            if fd is not None:
                os.close(fd)
    if not found:
        raise BadInputError(f"{root} holds no files.", field="source", hint="Give a folder with at least one file.")
    found.sort(key=lambda f: f[0])
    return found


def add_files(stores: Stores, path: str | Path, name: str, *,
              progress: Callable[[int, int], None] | None = None,
              hash_cache: str | Path | None = None) -> tuple[DatasetVersion, bool]:
    """Version the file or folder at ``path`` as dataset ``name``; return (version, whether it was new).

    With ``hash_cache`` (a file; the CLI uses the project's ``.conveyor/hashes.json``) a file whose stat is
    unchanged since it was hashed is not read again when the store already holds its bytes (see
    :mod:`conveyor.data.hash_cache` for when a cached digest is trusted), and a folder none of whose files was
    added, removed, renamed or changed since its last add is that add's version without looking at its files one by
    one (a fingerprint of their stats: :mod:`conveyor.data.folder_cache`)."""
    check_name(name, "dataset name")
    if isinstance(path, str) and (not path.strip() or "\x00" in path):
        raise BadInputError(f"{path!r} is not a file or folder path.", field="source",
                            hint="Pass the file or folder to version.")
    with _no_cyclic_gc():
        return _add_files(stores, path, name, progress, hash_cache)


@contextlib.contextmanager
def _no_cyclic_gc() -> Any:
    """Pause the cyclic garbage collector for one add: the walk, the manifest and the caches make tens of thousands
    of small dicts, lists and tuples that hold no reference cycles, and each time their count passes the collector's
    threshold it scans all of them again (0.07-0.1 CPU-s of a 0.4 s first add of 10,000 files). Reference counting
    still frees everything; the collector is resumed (if it was on) when the add returns or fails."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _add_files(stores: Stores, path: str | Path, name: str, progress: Callable[[int, int], None] | None,
               hash_cache: str | Path | None) -> tuple[DatasetVersion, bool]:
    root = Path(path)
    started = time.time_ns()  # before the walk and every stat: see FolderCache.record and HashCache.lookup
    # absolute paths, made once: the caches are keyed by them (a walk's names hold no "." or ".." to normalise)
    base = os.path.abspath(root)
    is_folder = root.is_dir()
    folders = FolderCache(hash_cache) if hash_cache is not None and is_folder else None
    known_folder = folders is not None and folders.known(base)
    listing = list_files(root, stat=known_folder)  # one stat per file when there is a fingerprint to compare
    stats: list[os.stat_result] | None = None
    if folders is not None and known_folder:
        stats = [s for _, _, s in listing]  # type: ignore[misc]  # all there: asked for
        recorded = folders.lookup(base, fingerprint([relative for relative, _, _ in listing], stats))
        if recorded is not None:
            with contextlib.suppress(NotFoundError):
                version = stores.datasets.get_version(name, recorded)
                if version.meta.get("kind") == "files":
                    if progress is not None:
                        progress(len(listing), len(listing))
                    return version, False
    if is_folder:
        prefix = os.path.join(base, "")  # ends with one separator
        entries = [(relative, prefix + relative) for relative, _, _ in listing]
    else:
        entries = [(listing[0][0], base)]
    previous = _latest_files_version(stores, name)
    old_manifest = read_manifest(stores, previous) if previous else []
    # where each file's bytes are already stored (by the previous version, or earlier in this walk)
    known: dict[str, dict[str, Any]] = {f["digest"]: {k: f[k] for k in ("digest", "pack", "offset") if k in f}
                                        for f in old_manifest}
    old_sizes = {f["bytes"] for f in old_manifest}
    pack = _Pack(stores)
    cache = HashCache(hash_cache)
    try:
        located, seen = _store_files(stores, entries, stats, cache, known, old_sizes, pack, progress)
    except BaseException:
        pack.cancel()
        raise
    pack.close()  # the last pack is stored on its own thread while the cache and the version id are made
    try:
        if cache.path is not None and is_folder:
            cache.forget_missing(root, [full for _, full in entries])
        cache.save()
        version_id = blake3.blake3(_identity(located)).hexdigest()
    finally:
        pack.wait()
    manifest = [{"path": relative, "bytes": size, **entry} for relative, size, entry in located]
    try:
        version, created = stores.datasets.get_version(name, version_id), False
    except NotFoundError:
        changes = compare_manifests(old_manifest, manifest)
        digest = stores.artifacts.put_bytes(_canonical(manifest))
        version, created = stores.datasets.add_version(DatasetVersion(
            name=name, version=version_id, artifact=digest, rows=len(manifest), columns=MANIFEST_COLUMNS,
            profile={"rows": len(manifest), "columns": {}}, source=str(root.resolve()),
            meta={"kind": "files", "bytes": sum(f["bytes"] for f in manifest), "changes": changes},
        ))
    if folders is not None:
        folders.record(base, fingerprint([relative for relative, _ in entries], seen), newest_change(seen), started,
                       version.version)
        folders.save()
    return version, created


def _store_files(stores: Stores, entries: list[tuple[str, str]], stats: list[os.stat_result] | None,
                 cache: HashCache, known: dict[str, dict[str, Any]], old_sizes: set[int], pack: _Pack,
                 progress: Callable[[int, int], None] | None,
                 ) -> tuple[list[tuple[str, int, dict[str, Any]]], list[os.stat_result]]:
    """(relative path, size, manifest entry) per file, and the stat its digest was taken with: a trusted cached
    digest, or the file read, hashed and stored (packed, a blob of its own, or copied by the kernel)."""
    located: list[tuple[str, int, dict[str, Any]]] = []
    seen: list[os.stat_result] = []
    # per-file work is most of a first add of many small files: names bound once, the cache entry made inline
    cached = cache.entries if cache.path is not None else {}
    hash_of, now, record = blake3.blake3, time.time_ns, cache.path is not None
    add_located, add_seen, total = located.append, seen.append, len(entries)
    for done, (relative, full) in enumerate(entries, 1):
        stat, entry = None, None
        if full in cached:
            stat = stats[done - 1] if stats is not None else os.stat(full)
            entry = _cached(stores, cache, full, stat, known)
        if entry is None:
            hashed_at = now()  # before the stat and the read: see HashCache.lookup
            size, data, stat = _read_small(full)
            if data is None:  # large: copied by the kernel; hashed during the copy when its size is new
                put = stores.artifacts.put_file if size in old_sizes else stores.artifacts.put_new_file
                entry = {"digest": put(full)}
            else:
                digest = hash_of(data).hexdigest()
                if digest in known:
                    entry = known[digest]
                elif size > PACKED_FILE:
                    entry = {"digest": stores.artifacts.put_bytes(data)}
                else:
                    entry = known[digest] = pack.add(digest, data)  # gets its "pack" when the pack is written
            if record:  # HashCache.record, inline
                value = [[stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev], hashed_at,
                         entry["digest"]]
                if cached.get(full) != value:
                    cached[full] = value
                    cache.changed = True
        else:
            assert stat is not None  # a cached entry is only taken with its stat
            size = stat.st_size
        add_seen(stat)
        add_located((relative, size, entry))
        if progress is not None:
            progress(done, total)
    return located, seen


def _cached(stores: Stores, cache: HashCache, full: str, stat: os.stat_result,
            known: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The manifest entry of a file whose cached digest is trusted for its ``stat`` and whose bytes the store holds
    (by the previous version, or as a blob of its own), without reading it; None when it has to be read."""
    digest = cache.lookup(full, stat)
    if digest is None:
        return None
    if digest in known:
        return known[digest]
    if stat.st_size > PACKED_FILE and stores.artifacts.exists(digest):
        return {"digest": digest}
    return None


def _read_small(path: str) -> tuple[int, bytes | None, os.stat_result]:
    """(size, bytes, stat) of a file, or (size, None, stat) above LARGE_FILE. os.open/os.read: four system calls
    per file where open().read() makes seven, which is most of the cost for thousands of small files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        stat = os.fstat(fd)
        size = stat.st_size
        if size > LARGE_FILE:
            return size, None, stat
        data = os.read(fd, size)
        while len(data) < size:  # a short read (network file systems): continue to the size fstat gave
            more = os.read(fd, size - len(data))
            if not more:
                break
            data += more
        return len(data), data, stat
    finally:
        os.close(fd)


def _identity(located: list[tuple[str, int, dict[str, Any]]]) -> bytes:
    """``_canonical`` of the version's identity (path, bytes and digest per file), written from the walk's tuples
    without a dict per file."""
    text = json.encoder.encode_basestring_ascii
    rows = [f'{{"bytes":{size},"digest":{text(entry["digest"])},"path":{text(relative)}}}'
            for relative, size, entry in located]
    return ('{"files":[' + ",".join(rows) + "]}").encode()


_PACKED_KEYS = ("bytes", "digest", "offset", "pack", "path")
_BLOB_KEYS = ("bytes", "digest", "path")


def _canonical(manifest: list[dict[str, Any]]) -> bytes:
    """``json.dumps({"files": manifest}, separators=(",", ":"), sort_keys=True)``, byte for byte, written out
    directly for the two shapes of entry (a packed file, a blob of its own): a third of the time for 10,000 files."""
    text = json.encoder.encode_basestring_ascii  # what json.dumps uses for a string (ensure_ascii)
    rows = []
    for f in manifest:
        keys = tuple(sorted(f))
        if keys == _PACKED_KEYS and type(f["bytes"]) is int and type(f["offset"]) is int:
            rows.append(f'{{"bytes":{f["bytes"]},"digest":{text(f["digest"])},"offset":{f["offset"]},'
                        f'"pack":{text(f["pack"])},"path":{text(f["path"])}}}')
        elif keys == _BLOB_KEYS and type(f["bytes"]) is int:
            rows.append(f'{{"bytes":{f["bytes"]},"digest":{text(f["digest"])},"path":{text(f["path"])}}}')
        else:
            rows.append(json.dumps(f, separators=(",", ":"), sort_keys=True))
    return ('{"files":[' + ",".join(rows) + "]}").encode()


class _Pack:
    """Small files concatenated into pack blobs: one blob (one fsync) per pack instead of one per file, which is
    what makes a folder of 10,000 small files fast. Entries point at (pack, offset).

    The bytes go to the artifact store's :meth:`~conveyor.store.artifacts.ArtifactStore.blob_writer` on a thread of
    their own, a few MB at a time, while the caller reads the next files (writing and fsyncing release the GIL); a
    pack is committed when it reaches PACK_BYTES and at :meth:`wait`, which returns when every pack is stored and
    its entries name it. At most ``_IN_FLIGHT`` batches wait to be written, so memory stays bounded."""

    _BATCH = 4 * 1024 * 1024
    _IN_FLIGHT = 64

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.batch: list[bytes] = []
        self.batch_size = 0
        self.pending: list[dict[str, Any]] = []
        self.size = 0
        self.thread: threading.Thread | None = None
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.room = threading.BoundedSemaphore(self._IN_FLIGHT)
        self.error: BaseException | None = None

    def add(self, digest: str, data: bytes) -> dict[str, Any]:
        entry = {"digest": digest, "offset": self.size}
        self.batch.append(data)
        self.batch_size += len(data)
        self.pending.append(entry)
        self.size += len(data)
        if self.size >= PACK_BYTES:
            self.close()
        elif self.batch_size >= self._BATCH:
            self._flush()
        return entry

    def _put(self, job: tuple[str, list]) -> None:
        if self.error is not None:  # a pack could not be written: no point reading on
            self.cancel()
            error, self.error = self.error, None
            raise error
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="conveyor-pack", daemon=True)
            self.thread.start()
        self.room.acquire()
        self.jobs.put(job)

    def _flush(self) -> None:
        if self.batch:
            self._put(("write", self.batch))
            self.batch, self.batch_size = [], 0

    def close(self) -> None:
        """End the pack filled so far: it is committed after its last bytes are written."""
        self._flush()
        if self.pending:
            self._put(("commit", self.pending))
            self.pending, self.size = [], 0

    def wait(self) -> None:
        """Every pack is stored and its entries name it; raises what writing one raised."""
        self.close()
        self._stop(("stop", []))
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def cancel(self) -> None:
        """Drop what is not committed yet (the add failed)."""
        self.batch, self.pending = [], []
        self._stop(("abort", []))

    def _stop(self, job: tuple[str, list]) -> None:
        if self.thread is not None:
            self.jobs.put(job)
            self.thread.join()
            self.thread = None

    def _work(self) -> None:
        writer = None
        while True:
            action, payload = self.jobs.get()
            if action in ("stop", "abort"):
                if writer is not None:
                    writer.abort()
                return
            self.room.release()
            if self.error is not None:
                continue
            try:
                if writer is None:
                    writer = self.stores.artifacts.blob_writer()
                if action == "write":
                    writer.write(payload)
                else:
                    digest, writer = writer.commit(), None
                    for entry in payload:
                        entry["pack"] = digest
            except BaseException as exc:  # handed to the caller by wait()
                self.error = exc
                if writer is not None:
                    writer.abort()
                    writer = None


def _latest_files_version(stores: Stores, name: str) -> DatasetVersion | None:
    versions = [v for v in stores.datasets.versions(name) if v.meta.get("kind") == "files"]
    return versions[-1] if versions else None


def read_manifest(stores: Stores, version: DatasetVersion) -> list[dict[str, Any]]:
    if version.meta.get("kind") != "files":
        raise BadInputError(f"{version.ref} is a table, not a set of files.", field="dataset",
                            hint="Use `conveyor data show` or load it as a DataFrame.")
    return json.loads(stores.artifacts.get_bytes(version.artifact))["files"]


def compare_manifests(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, list[str]]:
    old = {f["path"]: f["digest"] for f in before}
    new = {f["path"]: f["digest"] for f in after}
    return {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()),
            "modified": sorted(p for p in new.keys() & old.keys() if new[p] != old[p])}


def checkout(stores: Stores, version: DatasetVersion, dest: str | Path) -> int:
    """Write the version's files under ``dest``; return how many were written. Each file lands whole (temp name,
    then rename), and a file already holding the right bytes is left alone."""
    import tempfile  # here: `data add` does not need it

    dest = Path(dest)
    written = 0
    packs: dict[str, bytes] = {}
    for entry in read_manifest(stores, version):
        target = _target(dest, entry["path"])
        if target.is_file() and not target.is_symlink() and target.stat().st_size == entry["bytes"] and \
                blake3.blake3(target.read_bytes()).hexdigest() == entry["digest"]:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _check_inside(dest, target.parent, entry["path"])  # a folder on the way may be a planted link
        # a fresh, unpredictable name opened with O_EXCL: nothing planted at a known temp name is written through
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".conveyor-tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(file_bytes(stores, entry, packs))
            os.replace(tmp, target)  # rename replaces a link at the target itself, never writes through it
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        written += 1
    return written


def _check_inside(dest: Path, path: Path, shown: str) -> None:
    if not path.resolve().is_relative_to(dest.resolve()):
        raise BadInputError(f"Manifest path {shown!r} leaves the folder {dest}.", field="path",
                            hint="The version's manifest was edited; restore it, or check out elsewhere.")


def _target(dest: Path, relative: object) -> Path:
    """Where a manifest path lands under ``dest``: a relative POSIX path of plain names, strictly inside."""
    parts = relative.split("/") if isinstance(relative, str) else []
    if not parts or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):  # "/x" has an "" part
        raise BadInputError(f"Manifest path {relative!r} is not a plain relative file path.", field="path",
                            hint="The version's manifest was edited; restore it, or check out elsewhere.")
    target = dest / Path(*parts)
    _check_inside(dest, target.parent, str(relative))
    return target


def file_bytes(stores: Stores, entry: dict[str, Any], packs: dict[str, bytes] | None = None) -> bytes:
    """One file's bytes, checked against its digest (a pack is verified as a whole when read)."""
    if "pack" not in entry:
        return stores.artifacts.get_bytes(entry["digest"])
    packs = {} if packs is None else packs
    if entry["pack"] not in packs:
        packs.clear()  # keep one pack in memory at a time: manifests list files in pack order
        packs[entry["pack"]] = stores.artifacts.get_bytes(entry["pack"])
    data = packs[entry["pack"]][entry["offset"] : entry["offset"] + entry["bytes"]]
    if blake3.blake3(data).hexdigest() != entry["digest"]:
        raise IntegrityError(f"File {entry['path']!r} does not match its digest in the manifest.",
                             hint="The pack holding it is damaged; restore the artifact store from a backup.")
    return data
