"""Finding a project's pipelines: every :class:`Pipeline` defined in ``pipelines/*.py`` and every ``pipelines/*.yaml``
(``*.yml``), plus the built-in ``retrain``. A mistake in a file is a BadInputError whose field names the file and
the key (``pipelines/nightly.yaml:steps.clean.uses``), so the CLI exits 2 with both.

YAML shape::

    name: nightly                 # default: the file's stem
    schedule: "0 2 * * *"         # cron (UTC) or a duration such as 6h
    on: [new_data: churn, alert, promotion: churn@champion, webhook]
    executor: inline              # inline | threads | processes | ray | a plug-in's
    steps:
      clean:
        uses: steps.py:clean      # a function in a file next to this one, or package.module:function
        inputs: {raw: dataset:churn@latest}
        params: {min_amount: 0}
        outputs: {clean: dataset}
        retries: 2
        backoff: 5s
        cache: true               # false: run every time
      count:
        uses: steps.py:count
        inputs: {frame: clean.clean}
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError, first_line
from conveyor.pipeline.definition import Pipeline, Step, source_of

__all__ = ["discover", "load_callable", "load_file"]

FOLDER = "pipelines"
STEP_KEYS = ("uses", "inputs", "outputs", "params", "retries", "backoff", "cache")
PIPELINE_KEYS = ("name", "schedule", "on", "executor", "steps")


def _module_name(path: Path) -> str:
    return f"conveyor_pipelines.{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def load_module(path: str | Path) -> ModuleType:
    """Import a Python file by path (once per process; its folder is importable while it loads)."""
    path = Path(path).resolve()
    name = _module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadInputError(f"Cannot load {path}.", field=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except ConveyorError as exc:
        sys.modules.pop(name, None)
        if exc.field and str(path.name) in exc.field:
            raise
        raise BadInputError(f"{path.name}: {exc.message}", field=f"{path}:{exc.field or ''}".rstrip(":"),
                            hint=exc.hint) from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise BadInputError(f"{path.name} raised {type(exc).__name__} while loading: {first_line(exc)}",
                            field=str(path), hint="Fix the file; `python FILE` shows the traceback.") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def load_callable(origin: tuple[str, str, str]) -> Any:
    """The function at ``("file", path, attr)`` or ``("module", module, attr)``."""
    how, where, attr = origin
    module = load_module(where) if how == "file" else importlib.import_module(where)
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise NotFoundError(f"No function {attr!r} in {where}.", field="uses",
                            hint="Name a function defined at the top level of that file or module.")
    return fn


def _mapping(value: Any, where: str, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInputError(f"{where} must be a mapping of {what}, got {value!r}.", field=where)
    return value


def _yaml_step(path: Path, name: str, raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise BadInputError(f"Step {name!r} must be a mapping with uses:, inputs:, outputs:.", field=where)
    unknown = [k for k in raw if k not in STEP_KEYS]
    if unknown:
        raise BadInputError(f"Unknown key {unknown[0]!r} in step {name!r}.", field=f"{where}.{unknown[0]}",
                            hint=f"Keys: {', '.join(STEP_KEYS)}.")
    uses = raw.get("uses")
    if not isinstance(uses, str) or ":" not in uses:
        raise BadInputError(f"Step {name!r} needs uses: FILE.py:FUNCTION or package.module:FUNCTION, got {uses!r}.",
                            field=f"{where}.uses")
    target, _, attr = uses.rpartition(":")
    origin = ("file", str((path.parent / target).resolve()), attr) if target.endswith(".py") else \
        ("module", target, attr)
    if origin[0] == "file" and not Path(origin[1]).is_file():
        raise BadInputError(f"Step {name!r} uses {uses!r}, but there is no file {target} next to {path.name}.",
                            field=f"{where}.uses")
    try:
        fn = load_callable(origin)
    except ConveyorError as exc:
        raise BadInputError(f"Step {name!r} uses {uses!r}: {exc.message}", field=f"{where}.uses",
                            hint=exc.hint) from None
    except ImportError as exc:
        raise BadInputError(f"Step {name!r} uses {uses!r}: {first_line(exc)}", field=f"{where}.uses") from None
    retries = raw.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise BadInputError(f"retries of step {name!r} must be a whole number, got {retries!r}.",
                            field=f"{where}.retries")
    inputs = _mapping(raw.get("inputs"), f"{where}.inputs", "input name -> reference")
    outputs = _mapping(raw.get("outputs"), f"{where}.outputs", "output name -> kind") or {"result": "value"}
    params = _mapping(raw.get("params"), f"{where}.params", "parameter -> value")
    cache = raw.get("cache", True)
    if not isinstance(cache, bool):
        raise BadInputError(f"cache of step {name!r} must be true or false, got {cache!r}.", field=f"{where}.cache")
    return Step(str(name), fn, {str(k): v for k, v in inputs.items()}, {str(k): str(v) for k, v in outputs.items()},
                params, retries, parse_duration(raw.get("backoff", "1s"), f"{where}.backoff"), origin,
                source_of(fn) if inspect.isfunction(fn) else repr(fn), cache)


def _load_yaml(path: Path, shown: str) -> Pipeline:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInputError(f"{shown} is not valid YAML: {first_line(exc)}", field=shown) from None
    if not isinstance(raw, dict):
        raise BadInputError(f"{shown} must be a mapping with name: and steps:.", field=shown)
    raw = {("on" if key is True else key): value for key, value in raw.items()}  # YAML 1.1 reads a bare on: as true
    unknown = [k for k in raw if k not in PIPELINE_KEYS]
    if unknown:
        raise BadInputError(f"Unknown key {unknown[0]!r} in {shown}.", field=f"{shown}:{unknown[0]}",
                            hint=f"Keys: {', '.join(PIPELINE_KEYS)}.")
    try:
        pipeline = Pipeline(str(raw.get("name") or path.stem), schedule=raw.get("schedule"), on=raw.get("on"),
                            executor=raw.get("executor"), where=shown)
    except ConveyorError as exc:
        raise exc.with_field(exc.field if exc.field and exc.field.startswith(shown) else f"{shown}:name") from None
    steps = raw.get("steps")
    if isinstance(steps, list):  # a list of steps, each with a name
        steps = {s.get("name") if isinstance(s, dict) else None: {k: v for k, v in s.items() if k != "name"}
                 if isinstance(s, dict) else s for s in steps}
    if not isinstance(steps, dict) or not steps:
        raise BadInputError(f"{shown} has no steps.", field=f"{shown}:steps",
                            hint="Write steps: {NAME: {uses: FILE.py:FUNCTION, ...}}.")
    for name, spec in steps.items():
        where = f"{shown}:steps.{name}"
        pipeline.add(_yaml_step(path, str(name), spec, where), where)
    pipeline.order()
    return pipeline


def load_file(path: Path, root: Path | None = None) -> list[Pipeline]:
    """The pipelines one file defines."""
    shown = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    try:
        if path.suffix in (".yaml", ".yml"):
            return [_load_yaml(path, shown)]
        module = load_module(path)
        found = [value for value in vars(module).values() if isinstance(value, Pipeline)]
        for pipeline in found:
            pipeline.where = shown
            pipeline.order()
        return found
    except ConveyorError as exc:  # every message names the file; every field starts with it
        if shown not in exc.message:
            exc.message = f"{shown}: {exc.message}"
        if not (exc.field or "").startswith(shown):
            exc.field = f"{shown}:{exc.field}" if exc.field and not exc.field.startswith("/") else shown
        raise


def discover(root: Path, *, builtins: dict[str, Pipeline] | None = None) -> dict[str, Pipeline]:
    """Every pipeline of the project at ``root`` by name (``builtins`` first; a file may not reuse their names)."""
    found: dict[str, Pipeline] = dict(builtins or {})
    origin: dict[str, str] = {name: "built in" for name in found}
    folder = root / FOLDER
    files = sorted(p for p in folder.glob("*") if p.suffix in (".py", ".yaml", ".yml")) if folder.is_dir() else []
    for path in files:
        for pipeline in load_file(path, root):
            if pipeline.name in found:
                raise BadInputError(f"Two pipelines are named {pipeline.name!r}: in {origin[pipeline.name]} and in "
                                    f"{pipeline.where}.", field=f"{pipeline.where}:name",
                                    hint="Rename one (the built-in pipeline is named retrain).")
            found[pipeline.name], origin[pipeline.name] = pipeline, pipeline.where
    return found
