"""`conveyor data add` at the speed of the disk: scripts call it like `dvc add`, often on data that did not change,
so start-up is most of its cost. :func:`run` answers it without typer, SQLAlchemy, Alembic, pydantic or fsspec
(about half a second of imports) when the project is the usual one:

* no server is configured (``CONVEYOR_SERVER`` or a ``conveyor login`` default),
* the metadata store is a SQLite file already at the newest schema revision (read with ``sqlite3``:
  :func:`conveyor.store.sqlite_datasets.open_current`), and the artifact store a local folder,
* encryption at rest is off (no ``CONVEYOR_ENCRYPTION_KEY``, and ``conveyor.yaml`` does not mention ``encryption``),
* the arguments are the plain ones (PATH, ``--name``, ``--project``, ``--json``), and no progress bar is wanted
  (``--json``, or stderr is not a terminal).

Anything else returns False and the full command runs as before (it creates or upgrades the store, reports usage
errors, draws the bar). Both write the same rows and blobs (tests/cli/test_fast_add.py).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.core.entities import DatasetVersion
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.datasets import DatasetStore

__all__ = ["FileStores", "open_file_stores", "print_added", "run"]


@dataclass
class FileStores:
    """The two stores `data add` uses (see :class:`conveyor.data.files.Stores`), opened without SQLAlchemy."""

    datasets: DatasetStore
    artifacts: ArtifactStore
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers = []


def parse(args: list[str]) -> tuple[str, str, Path | None, bool] | None:
    """(path, name, project, json) from ``data add``'s arguments, or None for anything but the plain form (help,
    an unknown or repeated option, a missing name): the full command answers those, with typer's messages."""
    path: str | None = None
    options: dict[str, str] = {}  # --name, --project, each given once, as `--opt value` or `--opt=value`
    as_json = False
    i = 0
    while i < len(args):
        arg = args[i]
        key, equals, value = arg.partition("=")
        if arg == "--json" and not as_json:
            as_json = True
        elif key in ("--name", "--project") and (equals or i + 1 < len(args)) and key not in options:
            if not equals:
                i += 1
                value = args[i]
            options[key] = value
        elif not arg.startswith("-") and path is None:
            path = arg
        else:
            return None
        i += 1
    name, project = options.get("--name"), options.get("--project")
    if path is None or name is None:
        return None
    return path, name, Path(project) if project is not None else None, as_json


def open_file_stores(project: Path | None) -> FileStores | None:
    """The datasets role and artifact store of the project at ``project`` (or the nearest one), opened without
    SQLAlchemy; None when the project is not the usual one (see the module docstring)."""
    from conveyor.client.credentials import resolve_target
    from conveyor.core.settings import PROJECT_FILE, Settings, find_project_root
    from conveyor.store.local_artifacts import LocalArtifactStore, local_folder
    from conveyor.store.sqlite_datasets import open_current

    if resolve_target() is not None or (project is not None and not project.is_dir()):
        return None  # the full command says why it refuses
    if os.environ.get("CONVEYOR_ENCRYPTION_KEY", "").strip():
        return None
    root = find_project_root(project)
    config = root / PROJECT_FILE
    try:
        if config.is_file() and b"encryption" in config.read_bytes():
            return None
    except OSError:
        return None
    settings = Settings.for_project(root)
    if local_folder(settings.artifacts_url) is None:
        return None
    datasets = open_current(settings.db_url)
    if datasets is None:
        return None
    return FileStores(datasets, LocalArtifactStore(settings.artifacts_url), [datasets.close])


def version_dict(v: DatasetVersion) -> dict:
    return {"name": v.name, "version": v.version, "ref": v.ref, "rows": v.rows, "columns": v.columns,
            "source": v.source, "created_at": v.created_at, "parents": v.parents, "bytes": v.meta.get("bytes"),
            "kind": v.meta.get("kind", "table")}


def print_added(version: DatasetVersion, created: bool, as_json: bool) -> None:
    """What `conveyor data add` prints (both paths): one JSON document, or one line."""
    changes = version.meta.get("changes", {})
    if as_json:
        sys.stdout.write(json.dumps({**version_dict(version), "created": created, "changes": changes}, indent=2,
                                    default=str, allow_nan=False) + "\n")
        return
    state = "new version" if created else "unchanged (already stored)"
    counts = ", ".join(f"{len(v)} {k}" for k, v in changes.items() if v)
    print(f"{version.ref}  {version.rows} files  {version.meta['bytes']} bytes  {state}"
          + (f"  ({counts})" if created and counts else ""))


def run(args: list[str]) -> bool:
    """Answer ``conveyor data add ARGS`` on the fast path; False (nothing done) when the full command must."""
    parsed = parse(args)
    if parsed is None:
        return False
    path, name, project, as_json = parsed
    if not as_json and sys.stderr.isatty():
        return False  # the full command draws a progress bar
    stores = open_file_stores(project)
    if stores is None:
        return False
    from conveyor.core.settings import STATE_DIR, find_project_root
    from conveyor.data.files import add_files

    try:
        version, created = add_files(stores, path, name, hash_cache=find_project_root(project) / STATE_DIR /
                                     "hashes.json")
    finally:
        stores.close()
    print_added(version, created, as_json)
    return True
