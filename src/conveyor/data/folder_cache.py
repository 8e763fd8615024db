"""Folder fingerprints, so that adding an unchanged folder again costs one listing and one stat per file: no cached
digest looked up per file, no manifest parsed.

A folder's fingerprint is the BLAKE3 hash of its sorted (relative path, size, mtime_ns, ctime_ns, inode, device)
rows, one per file the walk of ``add_files`` finds. Beside the per-file stat cache (``.conveyor/hashes.json``,
:mod:`conveyor.data.hash_cache`) the CLI keeps one small file ``.conveyor/hashes.folders.json`` mapping each
folder's absolute path to the fingerprint it had when it was last added and the version that add gave.

When the fingerprint is trusted (the version is taken without reading the per-file cache or the manifest):

* it equals the recorded one: no file was added, removed or renamed, and every file has the size, mtime, ctime,
  inode and device it had, which is the per-file cache's rule for every file at once (an edit that sets the mtime
  back still moves the ctime; a file replaced by a rename has another inode);
* and when it was recorded, every file had been unchanged for ``SETTLE_NS`` (the per-file cache's settle rule): a
  folder holding a file written moments before the add gets no fingerprint, so it is hashed file by file next time;
* and the dataset still holds that version (the caller looks it up; a missing one means the full add).

Anything else (no entry, another fingerprint, a damaged file) is the ordinary add, which records the new
fingerprint. The file is replaced whole (temporary name, then rename); two processes writing it at once lose at
most each other's entries.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import blake3

from conveyor.data import hash_cache


def fingerprint(relatives: Sequence[str], stats: Sequence[os.stat_result]) -> str:
    """The fingerprint of a folder's files: ``relatives`` sorted, ``stats`` in the same order."""
    rows = "".join([f"{r}\0{s.st_size}\0{s.st_mtime_ns}\0{s.st_ctime_ns}\0{s.st_ino}\0{s.st_dev}\n"
                    for r, s in zip(relatives, stats, strict=True)])
    return blake3.blake3(rows.encode("utf-8", "surrogateescape")).hexdigest()


def newest_change(stats: Sequence[os.stat_result]) -> int:
    """The latest mtime or ctime (ns) among ``stats``: what the settle rule compares."""
    return max((max(s.st_mtime_ns, s.st_ctime_ns) for s in stats), default=0)


class FolderCache:
    """The fingerprint and version last recorded per folder (see the module docstring)."""

    def __init__(self, hashes: str | Path) -> None:
        hashes = Path(hashes)
        self.path = hashes.with_name(hashes.stem + ".folders.json")
        self.entries: dict[str, list] = {}
        self.changed = False
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self.path.read_bytes())
            if isinstance(loaded, dict) and isinstance(loaded.get("folders"), dict):
                self.entries = loaded["folders"]

    def known(self, folder: str) -> bool:
        """Whether a fingerprint is recorded for ``folder`` (absolute, as ``os.path.abspath`` gives it)."""
        return isinstance(self.entries.get(folder), list)

    def lookup(self, folder: str, print_: str) -> str | None:
        """The version recorded for ``folder`` when its fingerprint is ``print_``, else None."""
        entry = self.entries.get(folder)
        if not isinstance(entry, list) or len(entry) != 2 or entry[0] != print_ or not isinstance(entry[1], str):
            return None
        return entry[1]

    def record(self, folder: str, print_: str, newest_ns: int, started_ns: int, version: str) -> None:
        """Remember that ``folder`` with fingerprint ``print_`` is ``version``, when its newest change
        (``newest_ns``) was at least the settle time before the add began (``started_ns``, taken before the walk);
        otherwise forget the folder, so that its files are looked at one by one next time."""
        if newest_ns <= started_ns - hash_cache.SETTLE_NS:
            entry = [print_, version]
            if self.entries.get(folder) != entry:
                self.entries[folder], self.changed = entry, True
        elif self.entries.pop(folder, None) is not None:
            self.changed = True

    def save(self) -> None:
        """Write the file whole (temporary name, then rename) when it changed; a failure only loses the cache."""
        if self.changed:
            hash_cache.write_whole(self.path, {"folders": self.entries})
            self.changed = False
