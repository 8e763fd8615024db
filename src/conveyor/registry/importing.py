"""`conveyor models import`: register a model file trained elsewhere, with the same lineage as one trained here.

Native formats load without pickle (LightGBM text, XGBoost JSON/UBJSON). Pickle-based files can run
arbitrary code when loaded, so they need ``trust=True``; their BLAKE3 hash is recorded either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.core.dependencies import require
from conveyor.core.entities import ModelVersion, Run, new_id
from conveyor.core.environment import environment_tags
from conveyor.core.errors import BadInputError, first_line
from conveyor.core.refs import DatasetRef, check_name
from conveyor.registry.models import build_signature, register_model
from conveyor.registry.packaging import detect_flavor, load_model_bytes
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
NATIVE = {".txt": "lightgbm", ".lgb": "lightgbm", ".json": "xgboost", ".ubj": "xgboost"}


def read_model_file(path: Path, *, trust: bool) -> tuple[Any, str]:
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data:
        raise BadInputError(f"{path} is empty.", field="file")
    if suffix in NATIVE:
        flavor = NATIVE[suffix]
        try:
            return load_model_bytes(data, flavor), flavor
        except Exception as exc:  # the libraries raise many types for a foreign file; all of them are bad input
            raise BadInputError(f"{path.name} is not a valid {flavor} model file: {type(exc).__name__}: "
                                f"{first_line(exc)}", field="file",
                                hint=f"Save it with the {flavor} library's own save_model.") from None
    if suffix in PICKLE_SUFFIXES:
        if not trust:
            raise BadInputError(f"{path.name} is a pickle-based file, and loading one can run arbitrary code.",
                                field="file", hint="Pass --trust if you trust its origin (its hash is recorded).")
        try:
            joblib = require("joblib", "train")  # installed with scikit-learn; reads joblib and plain pickle

            model = joblib.load(path)
        except Exception as exc:  # unpickling fails in many ways for a foreign file; all of them are bad input
            raise BadInputError(f"Cannot load {path.name}: {type(exc).__name__}: {first_line(exc)}", field="file",
                                hint="Check that it was saved with pickle/joblib by compatible versions.") from None
        return model, detect_flavor(model)
    raise BadInputError(f"Unknown model file type {suffix!r} for {path.name}.", field="file",
                        hint=f"Use {', '.join(sorted(NATIVE))} or, with --trust, {', '.join(PICKLE_SUFFIXES)}.")


def import_model(stores: Stores, path: str | Path, name: str, *, data: str | None = None, trust: bool = False,
                 project_root: Path | None = None) -> ModelVersion:
    check_name(name, "model name")
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"Model file not found: {path}.", field="file", hint="Check the path.")
    dataset = None
    if data:
        ref = DatasetRef.parse(data)
        version = stores.metadata.get_dataset_version(ref.name, ref.version)
        dataset = f"{version.name}@{version.version}"
    model, flavor = read_model_file(path, trust=trust)
    file_hash = digest_bytes(path.read_bytes())
    tags = {**environment_tags(project_root or Path.cwd()), "kind": "import", "source_file": str(path.resolve()),
            "source_blake3": file_hash, "trusted_pickle": str(trust and path.suffix in PICKLE_SUFFIXES)}
    run = Run(id=new_id(), name=f"import-{name}", dataset=dataset, tags=tags)
    stores.metadata.create_run(run)
    try:
        version = register_model(stores, model, name, flavor=flavor, signature=build_signature(model, flavor, None),
                                 run_id=run.id, dataset=dataset,
                                 meta={"imported_from": str(path.resolve()), "source_blake3": file_hash})
    except BaseException:
        stores.metadata.end_run(run.id, "failed")
        raise
    stores.metadata.set_tags(run.id, {"model_version": version.ref})
    stores.metadata.end_run(run.id, "finished")
    return version
