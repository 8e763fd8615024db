"""Where feature views come from (``features/*.yaml`` and ``features/*.py`` of a project) and the record of the
versions applied: a view version is its definition hash plus the source dataset version it read.

The records are a JSON file in the project's state folder (``.conveyor/features/views.json``), written whole and
renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conveyor.core.errors import BadInputError, NotFoundError, first_line
from conveyor.features.views import FeatureView, view_from_dict
from conveyor.store.hashing import digest_bytes

FOLDER = "features"


def discover(root: Path) -> dict[str, tuple[FeatureView, str]]:
    """Every view declared under ``root/features``: name -> (view, the file it came from)."""
    folder = root / FOLDER
    found: dict[str, tuple[FeatureView, str]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        for view in _from_yaml(path):
            _add(found, view, str(path.relative_to(root)))
    for path in sorted(folder.glob("*.py")):
        for view in _from_python(path):
            _add(found, view, str(path.relative_to(root)))
    return found


def _add(found: dict[str, tuple[FeatureView, str]], view: FeatureView, origin: str) -> None:
    if view.name in found:
        raise BadInputError(f"Feature view {view.name!r} is declared twice: in {found[view.name][1]} and {origin}.",
                            field=view.name, hint="Rename or remove one of them.")
    found[view.name] = (view, origin)


def _from_yaml(path: Path) -> list[FeatureView]:
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path} is not valid YAML: {first_line(exc)}", field=str(path),
                            hint="Fix the file's syntax.") from None
    views = []
    for document in documents:
        for item in document if isinstance(document, list) else [document]:
            views.append(view_from_dict(item, str(path)))
    return views


def _from_python(path: Path) -> list[FeatureView]:
    module_name = f"conveyor_features_{digest_bytes(str(path.resolve()).encode())[:12]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # inspect.getsource of a transform needs its module registered
    try:
        spec.loader.exec_module(module)
    except BadInputError as exc:
        raise BadInputError(f"{path}: {exc.message}", field=exc.field, hint=exc.hint) from None
    except Exception as exc:  # the user's module: report it by file, never as a traceback
        raise BadInputError(f"{path} failed to import: {type(exc).__name__}: {first_line(exc)}", field=str(path),
                            hint="Fix the module.") from None
    return [value for value in vars(module).values() if isinstance(value, FeatureView)]


@dataclass
class ViewVersion:
    """One applied version of a view."""

    view: str
    version: str  # digest of the definition hash and the source version
    definition_hash: str
    source: str  # NAME@VERSION read
    definition: dict[str, Any]
    origin: str
    applied_at: float = field(default_factory=time.time)
    materialized: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.view}@{self.version[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ref": self.ref}


def version_id(definition_hash: str, source: str) -> str:
    return digest_bytes(f"{definition_hash}\n{source}".encode())


class ViewRecords:
    """The applied versions of every view, oldest first, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[ViewVersion]:
        if not self.path.is_file():
            return []
        return [ViewVersion(**item) for item in json.loads(self.path.read_text())]

    def versions(self, view: str) -> list[ViewVersion]:
        return [v for v in self.all() if v.view == view]

    def latest(self, view: str) -> ViewVersion:
        found = self.versions(view)
        if not found:
            raise NotFoundError(f"Feature view {view!r} has not been applied.", field="view",
                                hint="Run `conveyor features apply`.")
        return found[-1]

    def record(self, version: ViewVersion) -> tuple[ViewVersion, bool]:
        """Add ``version`` unless the same version is the view's latest already; returns (record, created)."""
        records = self.all()
        same = [r for r in records if r.view == version.view]
        if same and same[-1].version == version.version:
            return same[-1], False
        records.append(version)
        self._write(records)
        return version, True

    def note_materialized(self, version: ViewVersion, note: dict[str, Any]) -> None:
        records = self.all()
        for record in records:
            if record.view == version.view and record.version == version.version:
                record.materialized.append(note)
                version.materialized = record.materialized
        self._write(records)

    def _write(self, records: list[ViewVersion]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps([asdict(r) for r in records], indent=1, default=str))
        tmp.replace(self.path)
