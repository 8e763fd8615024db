"""`conveyor models import`: register a model file trained elsewhere, with the same lineage as one trained here.

Native formats load without pickle (LightGBM text, XGBoost JSON/UBJSON). Pickle-based files can run
arbitrary code when loaded, so they need ``trust=True``; their BLAKE3 hash is recorded either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.core.entities import ModelVersion, Run, new_id
from conveyor.core.environment import environment_tags
from conveyor.core.errors import BadInputError, MissingDependencyError, first_line
from conveyor.core.refs import DatasetRef, check_name
from conveyor.registry.flavors import flavor_for_suffix, known_suffixes
from conveyor.registry.models import build_signature, register_model
from conveyor.registry.packaging import detect_flavor
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes


def read_model_file(path: Path, *, trust: bool) -> tuple[Any, str]:
    """The model in ``path`` and the flavor it will be stored as: the flavor that claims the suffix reads the file
    (a pickled flavor only with ``trust``); what the file holds decides the stored flavor."""
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty.", field="file")
    reader = flavor_for_suffix(path.suffix)
    if reader is None:
        native, pickled = known_suffixes()
        raise BadInputError(f"Unknown model file type {path.suffix.lower()!r} for {path.name}.", field="file",
                            hint=f"Use {', '.join(native)} or, with --trust, {', '.join(pickled)}.")
    if reader.pickled and not trust:
        raise BadInputError(f"{path.name} is a pickle-based file, and loading one can run arbitrary code.",
                            field="file", hint="Pass --trust if you trust its origin (its hash is recorded).")
    try:
        model = reader.read_file(path)
    except MissingDependencyError:
        raise
    except Exception as exc:  # the libraries raise many types for a foreign file; all of them are bad input
        if reader.pickled:
            raise BadInputError(f"Cannot load {path.name}: {type(exc).__name__}: {first_line(exc)}", field="file",
                                hint="Check that it was saved with pickle/joblib by compatible versions.") from None
        raise BadInputError(f"{path.name} is not a valid {reader.name} model file: {type(exc).__name__}: "
                            f"{first_line(exc)}", field="file",
                            hint=f"Save it with the {reader.name} library's own save_model.") from None
    return model, (detect_flavor(model) if reader.pickled else reader.name)


def import_model(stores: Stores, path: str | Path, name: str, *, data: str | None = None, trust: bool = False,
                 project_root: Path | None = None) -> ModelVersion:
    check_name(name, "model name")
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"Model file not found: {path}.", field="file", hint="Check the path.")
    dataset = None
    if data:
        ref = DatasetRef.parse(data)
        version = stores.datasets.get_version(ref.name, ref.version)
        dataset = f"{version.name}@{version.version}"
    model, flavor = read_model_file(path, trust=trust)
    file_hash = digest_bytes(path.read_bytes())
    tags = {**environment_tags(project_root or Path.cwd()), "kind": "import", "source_file": str(path.resolve()),
            "source_blake3": file_hash, "trusted_pickle": str(trust and flavor_for_suffix(path.suffix).pickled)}
    run = Run(id=new_id(), name=f"import-{name}", dataset=dataset, tags=tags)
    stores.runs.create(run)
    try:
        version = register_model(stores, model, name, flavor=flavor, signature=build_signature(model, flavor, None),
                                 run_id=run.id, dataset=dataset,
                                 meta={"imported_from": str(path.resolve()), "source_blake3": file_hash})
    except BaseException:
        stores.runs.end(run.id, "failed")
        raise
    stores.runs.set_tags(run.id, {"model_version": version.ref})
    stores.runs.end(run.id, "finished")
    return version
