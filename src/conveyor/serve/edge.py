"""``conveyor deploy edge``: a bundle that scores a model with onnxruntime and numpy alone, for small devices.

The bundle (a new folder) holds ``model.onnx`` (exported and checked by
:func:`conveyor.registry.onnx_export.export_onnx` on the version's training rows), ``runner.py`` (a copy of
:mod:`conveyor.registry.edge_runner`: reads JSON or CSV rows and prints predictions, or answers
``POST /invocations`` with ``--serve PORT``), ``schema.json`` (the input columns and their ONNX types, the task,
the classes, the check's largest difference) and a ``requirements.txt`` naming only onnxruntime and numpy.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from conveyor.registry import edge_runner
from conveyor.registry.models import load_model
from conveyor.registry.onnx_export import DEFAULT_TOLERANCE
from conveyor.serve.deploy import _atomic_dir
from conveyor.serve.onnx_runtime import onnx_predictor
from conveyor.store import Stores

BUNDLE_FILES = ("model.onnx", "runner.py", "schema.json", "requirements.txt")


def _requirement(package: str) -> str:
    try:
        major = metadata.version(package).split(".")[0]
        return f"{package}>={metadata.version(package)},<{int(major) + 1}" if major.isdigit() else package
    except metadata.PackageNotFoundError:
        return package


def edge_bundle(stores: Stores, ref: str, out: Path, *, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """Write the edge bundle of ``ref`` into ``out`` (a new or empty folder); a summary of what was written."""
    loaded = load_model(stores, ref)
    export = onnx_predictor(stores, loaded, tolerance=tolerance).export
    runner = Path(edge_runner.__file__).read_text()

    def fill(staging: Path) -> None:
        (staging / "model.onnx").write_bytes(export.onnx)
        (staging / "runner.py").write_text(runner)
        (staging / "schema.json").write_text(json.dumps(export.schema, indent=2, default=str) + "\n")
        (staging / "requirements.txt").write_text(f"{_requirement('onnxruntime')}\n{_requirement('numpy')}\n")

    folder = _atomic_dir(out, fill)
    sizes = {name: (folder / name).stat().st_size for name in BUNDLE_FILES}
    return {**export.summary(), "out": str(folder), "files": [str(folder / n) for n in BUNDLE_FILES],
            "bytes": sum(sizes.values()), "sizes": sizes}
