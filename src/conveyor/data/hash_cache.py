"""A stat cache of file digests, so that adding an unchanged file set again reads none of its bytes.

``data add`` from the CLI keeps it at ``.conveyor/hashes.json`` in the project (the Python API only when asked:
``add_files(..., hash_cache=PATH)``). An entry maps a file's absolute path to its BLAKE3 digest together with the
stat that file had when it was hashed: size, mtime and ctime in nanoseconds, inode and device.

When an entry is trusted (the digest is used without reading the file):

* every one of size, mtime_ns, ctime_ns, inode and device is unchanged. An edit that keeps the size changes the
  mtime, and resetting the mtime afterwards (``touch -d``, ``os.utime``) still changes the ctime, which no user
  call can set back; replacing the file (a rename over it) changes the inode;
* and the entry was recorded at least ``SETTLE_NS`` after both the mtime and the ctime. A file written in the same
  clock tick as it was hashed could be written again within that tick without any stat field changing (git's
  "racily clean" case; some file systems keep only 1 s or 2 s of mtime), so such a file is hashed again next time
  until it has settled.

Anything else (a missing, unreadable or damaged cache file, a path not in it) means the file is read and hashed as
if there were no cache. Two processes writing the cache at once lose at most each other's new entries: the file is
replaced whole (temporary name, then rename), and every entry is checked against the file's stat when it is used.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

SETTLE_NS = 3_000_000_000
"""How long after its last change (mtime and ctime) a file must have been hashed for the entry to be trusted."""


def _key(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


class HashCache:
    """Digests by absolute path, trusted only for an unchanged, settled stat (see the module docstring)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, list] = {}
        self.changed = False
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self.path.read_bytes())
                if isinstance(loaded, dict) and isinstance(loaded.get("files"), dict):
                    self.entries = loaded["files"]

    def lookup(self, path: str, stat: os.stat_result) -> str | None:
        """The digest recorded for ``path`` (absolute and normalised, as ``os.path.abspath`` gives it: the caller
        makes it once per file) if its stat is unchanged and was settled when hashed, else None."""
        entry = self.entries.get(path)
        if not isinstance(entry, list) or len(entry) != 3:
            return None
        key, hashed_at, digest = entry
        if key != _key(stat) or not isinstance(hashed_at, int) or not isinstance(digest, str):
            return None
        if max(stat.st_mtime_ns, stat.st_ctime_ns) > hashed_at - SETTLE_NS:
            return None  # changed within the settle window before it was hashed: may have changed unseen
        return digest

    def record(self, path: str, stat: os.stat_result, digest: str, hashed_at: int) -> None:
        """Remember ``digest`` for ``path`` (absolute, see :meth:`lookup`) as hashed at ``hashed_at`` (time.time_ns()
        taken before reading)."""
        if self.path is None:
            return
        entry = [_key(stat), hashed_at, digest]
        if self.entries.get(path) != entry:
            self.entries[path] = entry
            self.changed = True

    def forget_missing(self, folder: str | Path, seen: list[str]) -> None:
        """Drop the entries under ``folder`` for files a walk of it did not find (deleted or moved away), so the
        cache holds about as many entries as the file sets it was used on. ``seen``: absolute paths."""
        prefix = os.path.join(os.path.abspath(folder), "")
        present = set(seen)
        stale = [p for p in self.entries if p.startswith(prefix) and p not in present]
        for path in stale:
            del self.entries[path]
        self.changed = self.changed or bool(stale)

    def save(self) -> None:
        """Write the cache whole (temporary name, then rename) when it changed; a failure only loses the cache."""
        if self.path is None or not self.changed:
            return
        write_whole(self.path, {"files": self.entries})
        self.changed = False


def write_whole(path: Path, document: dict) -> None:
    """Write ``document`` as compact JSON to ``path`` whole (a temporary name beside it, then a rename), creating
    the folder; a failure to write only loses the cache, it is not an error."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        # what tempfile.mkstemp does (a fresh random name, O_EXCL, mode 0600) without importing tempfile and random
        # (10 ms of a CLI add's start-up)
        tmp = os.path.join(path.parent, f".{path.stem}.{os.urandom(6).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(document, separators=(",", ":")).encode())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
