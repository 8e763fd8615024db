"""`conveyor models import`: register a model file trained elsewhere, with the same lineage as one trained here.

Native formats load without pickle (LightGBM text, XGBoost JSON/UBJSON). Pickle-based files can run
arbitrary code when loaded: with ``trust=True`` they are loaded here; without it they are stored as they came,
never unpickled, marked untrusted, and load only after `conveyor models trust` (:mod:`conveyor.registry.trust`).
The file is read once: the recorded BLAKE3 digest is that of the very bytes that were loaded or stored (a file that
rewrites itself between two reads cannot record a benign hash).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.core.entities import AuditNote, ModelVersion, Run, new_id
from conveyor.core.environment import environment_tags
from conveyor.core.errors import BadInputError, MissingDependencyError, first_line
from conveyor.core.refs import DatasetRef, check_name
from conveyor.registry.flavors import Flavor, flavor_for_suffix, known_suffixes
from conveyor.registry.models import build_signature, current_actor, register_model
from conveyor.registry.packaging import detect_flavor
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes
from conveyor.store.signing import META_KEY as SIGNATURE_META


def _reader(path: Path) -> Flavor:
    reader = flavor_for_suffix(path.suffix)
    if reader is None:
        native, pickled = known_suffixes()
        raise BadInputError(f"Unknown model file type {path.suffix.lower()!r} for {path.name}.", field="file",
                            hint=f"Use {', '.join(native)} or, with --trust, {', '.join(pickled)}.")
    return reader


def read_model_file(path: Path, *, trust: bool, data: bytes | None = None) -> tuple[Any, str]:
    """The model in ``path`` (whose bytes are ``data`` when given: loaded from those, not read again) and the flavor
    it will be stored as: the flavor that claims the suffix reads the file (a pickled flavor only with ``trust``);
    what the file holds decides the stored flavor."""
    if (len(data) if data is not None else path.stat().st_size) == 0:
        raise BadInputError(f"{path} is empty.", field="file")
    reader = _reader(path)
    if reader.pickled and not trust:
        raise BadInputError(f"{path.name} is a pickle-based file, and loading one can run arbitrary code.",
                            field="file", hint="Pass --trust if you trust its origin (its hash is recorded).")
    try:
        read_bytes = getattr(reader, "read_bytes", None)
        model = read_bytes(data) if data is not None and read_bytes is not None else reader.read_file(path)
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
    data_bytes = path.read_bytes()  # once: the digest and the load see the same bytes
    file_hash = digest_bytes(data_bytes)
    if _reader(path).pickled and not trust:
        return _import_untrusted(stores, path, name, data_bytes, file_hash, dataset, project_root)
    model, flavor = read_model_file(path, trust=trust, data=data_bytes)
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


def _import_untrusted(stores: Stores, path: Path, name: str, data: bytes, file_hash: str, dataset: str | None,
                      project_root: Path | None) -> ModelVersion:
    """Store a pickle as it came, never unpickled: it loads after `conveyor models trust` only."""
    if not data:
        raise BadInputError(f"{path} is empty.", field="file")
    reader = _reader(path)
    tags = {**environment_tags(project_root or Path.cwd()), "kind": "import", "source_file": str(path.resolve()),
            "source_blake3": file_hash, "trusted_pickle": "False"}
    run = Run(id=new_id(), name=f"import-{name}", dataset=dataset, tags=tags)
    stores.runs.create(run)
    try:
        version = register_untrusted(stores, data, name, flavor=reader.name, run_id=run.id, dataset=dataset,
                                     meta={"imported_from": str(path.resolve()), "source_blake3": file_hash})
    except BaseException:
        stores.runs.end(run.id, "failed")
        raise
    stores.runs.set_tags(run.id, {"model_version": version.ref})
    stores.runs.end(run.id, "finished")
    return version


def register_untrusted(stores: Stores, data: bytes, name: str, *, flavor: str, run_id: str | None,
                       dataset: str | None = None, meta: dict[str, Any] | None = None,
                       inputs: list[dict[str, str]] | None = None,
                       metrics: dict[str, float] | None = None) -> ModelVersion:
    """A new version of ``name`` holding ``data`` (a pickle-based model file of ``flavor``) as it came, never
    unpickled: marked untrusted, it loads only after `conveyor models trust` (MLflow uploads and imports)."""
    check_name(name, "model name")
    if not data:
        raise BadInputError(f"The model file for {name} is empty.", field="file")
    digest = stores.artifacts.put_bytes(data)
    signed = stores.signing.sign(digest, flavor)  # vouches for the bytes, not for running them
    note = AuditNote(current_actor(), "register", {"run": run_id, "dataset": dataset, "artifact": digest,
                                                   "flavor": flavor, "untrusted": True})
    return stores.registry.create_version(ModelVersion(
        name=name, version=0, artifact=digest, flavor=flavor, run_id=run_id, dataset=dataset,
        signature={"inputs": inputs or [], "task": None, "classes": [], "target": None}, metrics=metrics or {},
        meta={"source_blake3": digest_bytes(data), **(meta or {}), "untrusted": True,
              **({SIGNATURE_META: signed} if signed else {})}), audit=note)
