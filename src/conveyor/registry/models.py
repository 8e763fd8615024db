"""Register, find, load, promote and roll back model versions; every change lands in the audit trail."""

from __future__ import annotations

from typing import Any

import pandas as pd

from conveyor.core.actors import current_actor
from conveyor.core.entities import AliasChange, AuditNote, ModelVersion
from conveyor.core.errors import BadInputError, CheckFailedError, NotFoundError
from conveyor.core.numbers import finite_metrics
from conveyor.core.refs import ModelRef, check_name
from conveyor.registry.flavors import FLAVORS
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.packaging import detect_flavor, dump_model, infer_inputs, infer_task, load_model_bytes
from conveyor.registry.trust import check_loadable
from conveyor.store import Stores
from conveyor.store.signing import META_KEY as SIGNATURE_META


def build_signature(model: Any, flavor: str, input_example: pd.DataFrame | None, *, task: str | None = None,
                    classes: list | None = None, target: str | None = None) -> dict[str, Any]:
    inferred_task, inferred_classes = infer_task(model, flavor)
    return {
        "inputs": infer_inputs(input_example, model, flavor),
        "task": task or inferred_task,
        "classes": list(classes if classes is not None else inferred_classes),
        "target": target,
    }


def register_model(stores: Stores, model: Any, name: str, *, flavor: str | None = None,
                   signature: dict[str, Any] | None = None, input_example: pd.DataFrame | None = None,
                   run_id: str | None = None, dataset: str | None = None, metrics: dict[str, float] | None = None,
                   meta: dict[str, Any] | None = None) -> ModelVersion:
    check_name(name, "model name")
    flavor = flavor or detect_flavor(model)
    signature = signature or build_signature(model, flavor, input_example)
    return register_package(stores, dump_model(model, flavor), name, flavor=flavor, signature=signature,
                            run_id=run_id, dataset=dataset, metrics=metrics, meta=meta)


def check_flavor(flavor: str) -> str:
    if flavor not in FLAVORS:
        raise BadInputError(f"Flavor {flavor!r} is not one this installation knows.", field="flavor",
                            hint=f"Use one of: {', '.join(sorted(FLAVORS.names()))}.")
    return flavor


def register_package(stores: Stores, package: bytes, name: str, *, flavor: str, signature: dict[str, Any],
                     run_id: str | None = None, dataset: str | None = None, metrics: dict[str, float] | None = None,
                     meta: dict[str, Any] | None = None) -> ModelVersion:
    """Register a model from its package bytes (what ``dump_model`` wrote; never unpickled here): how a client's
    ``run.log_model`` registers on a server."""
    check_name(name, "model name")
    check_flavor(flavor)
    metrics = finite_metrics(metrics)  # checked before anything is written
    digest = stores.artifacts.put_bytes(package)  # bytes first: no record without its artifact
    signed = stores.signing.sign(digest, flavor)
    meta = {**(meta or {}), **({SIGNATURE_META: signed} if signed else {})}
    note = AuditNote(current_actor(), "register",
                     {"run": run_id, "dataset": dataset, "artifact": digest, "flavor": flavor})
    return stores.registry.create_version(ModelVersion(
        name=name, version=0, artifact=digest, flavor=flavor, run_id=run_id, dataset=dataset,
        signature=signature, metrics=metrics, meta=dict(meta or {})), audit=note)


def resolve_model(stores: Stores, ref: str | ModelRef) -> ModelVersion:
    parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
    if parsed.version is not None:
        return stores.registry.get_version(parsed.name, parsed.version)
    versions = stores.registry.versions(parsed.name)
    if not versions:
        raise NotFoundError.for_name("model", parsed.name, stores.registry.names())
    if parsed.alias is None:
        return versions[-1]
    aliases = stores.registry.aliases(parsed.name)
    if parsed.alias not in aliases:
        known = ", ".join(f"@{a}" for a in aliases) or "none yet"
        raise NotFoundError(f"Model {parsed.name!r} has no alias {parsed.alias!r} (aliases: {known}).",
                            hint=f"Set it with `conveyor models promote {parsed.name}:N --alias {parsed.alias}`.")
    return stores.registry.get_version(parsed.name, aliases[parsed.alias])


def load_model(stores: Stores, ref: str | ModelRef | ModelVersion) -> LoadedModel:
    version = ref if isinstance(ref, ModelVersion) else resolve_model(stores, ref)
    if version.flavor not in FLAVORS:
        raise NotFoundError(f"{version.ref} is a {version.flavor!r} model, a flavor no installed package provides.",
                            field="flavor", hint="Install the plug-in that registers it (entry-point group "
                                                 "conveyor.flavors), then load it again.")
    check_loadable(stores, version)  # an untrusted import is refused before its bytes are read
    stores.signing.verify(version.ref, version.artifact, version.flavor, version.meta)
    data = stores.artifacts.get_bytes(version.artifact)  # raises IntegrityError before any unpickling
    return LoadedModel(version, load_model_bytes(data, version.flavor))


def failed_gates(version: ModelVersion) -> list[dict[str, Any]]:
    """The quality-gate rules this version failed at training (none when no gates were configured)."""
    gates = version.meta.get("gates") or {}
    return [r for r in gates.get("rules", []) if not r.get("passed")]


def gate_check(version: ModelVersion, failed: list[dict[str, Any]], *, reason: str = "",
               override_gates: bool = False) -> dict[str, Any]:
    """The audit details of promoting ``version`` given the gate rules it ``failed`` (its training gates and any
    environment's): CheckFailedError unless ``override_gates`` is set with a ``reason``."""
    details: dict[str, Any] = {"reason": reason}
    if failed and not override_gates:
        rules = "; ".join(f"{r['rule']} ({r['detail']})" for r in failed)
        raise CheckFailedError(f"{version.ref} failed {len(failed)} quality gate(s): {rules}.", field="gates",
                               hint="Train a better model, or override with --override-gates --reason '...' "
                                    "(recorded in the audit trail).")
    if failed:
        if not reason.strip():
            raise BadInputError("Overriding failed quality gates needs a reason.", field="reason",
                                hint="Pass --reason 'why this model may ship anyway'.")
        details.update({"override_gates": True, "failed_gates": [r["rule"] for r in failed]})
    return details


def check_not_deleted(stores: Stores, version: ModelVersion) -> None:
    """Refuse a version an MLflow client deleted (or whose registered model it deleted): Conveyor keeps its files and
    lineage, but an alias on it would serve a model MLflow clients no longer see."""
    for note in stores.registry.notes(version.name):
        if note.deleted and note.version in (0, version.version):
            what = version.ref if note.version else f"model {version.name!r}"
            raise BadInputError(f"{what} was deleted through an MLflow client; it cannot be promoted.", field="ref",
                                hint=f"Promote another version (`conveyor models list {version.name}` marks the "
                                     "deleted ones).")


def promote(stores: Stores, ref: str, alias: str, *, reason: str = "", actor: str | None = None,
            override_gates: bool = False, details: dict[str, Any] | None = None) -> AliasChange:
    """Point ``alias`` at a version. A version that failed a quality gate is refused, whoever asks (CLI, API,
    retraining), unless ``override_gates`` is set with a ``reason``: the override and the failed rules are audited.
    ``details`` adds to the audit row (an environment's gates, an approval)."""
    check_name(alias, "alias")
    version = resolve_model(stores, ref)
    check_not_deleted(stores, version)
    stores.signing.verify(version.ref, version.artifact, version.flavor, version.meta)
    audited = gate_check(version, failed_gates(version), reason=reason, override_gates=override_gates)
    note = AuditNote(actor or current_actor(), "promote", {**audited, **(details or {})})
    return stores.registry.set_alias(version.name, alias, version.version, audit=note)


def promotion_stack(history: list[AliasChange]) -> list[int | None]:
    """Versions an alias held, newest last; a rollback pops the stack instead of pushing onto it."""
    stack: list[int | None] = []
    for change in history:
        if len(stack) >= 2 and change.version == stack[-2]:
            stack.pop()
        else:
            stack.append(change.version)
    return stack


def rollback(stores: Stores, name: str, alias: str = "champion", *, reason: str = "",
             actor: str | None = None) -> AliasChange:
    """Move ``alias`` back to the version it held before its latest promotion."""
    check_name(name, "model name")
    if name not in stores.registry.names():
        raise NotFoundError.for_name("model", name, stores.registry.names())
    stack = promotion_stack(stores.registry.alias_history(name, alias))
    if len(stack) < 2 or stack[-2] is None:
        raise BadInputError(f"Model {name!r} alias {alias!r} has no earlier version to roll back to.",
                            field="alias", hint=f"See `conveyor models show {name}` for its history.")
    note = AuditNote(actor or current_actor(), "rollback", {"reason": reason})
    return stores.registry.set_alias(name, alias, stack[-2], audit=note)
