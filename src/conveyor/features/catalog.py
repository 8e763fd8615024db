"""Where feature views come from (``features/*.yaml`` and ``features/*.py`` of a project), and a view version's
id: the digest of its definition hash and the source dataset version it read (the versions are recorded by the
metadata role ``stores.features``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from conveyor.core.errors import BadInputError, first_line
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


def version_id(definition_hash: str, source: str) -> str:
    return digest_bytes(f"{definition_hash}\n{source}".encode())
