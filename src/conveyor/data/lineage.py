"""Derived datasets and lineage: filter, split, join and feature builds record the versions they came from, and a
version's lineage lists its parents, its children, and the runs and models that used it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, first_line
from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.store import Stores


def full_ref(version: DatasetVersion) -> str:
    return f"{version.name}@{version.version}"


def derive(stores: Stores, frame: pd.DataFrame, name: str, parents: list[DatasetVersion],
           operation: dict[str, Any]) -> DatasetVersion:
    """Store ``frame`` as a version of ``name`` made from ``parents`` by ``operation`` (recorded as given)."""
    version, _ = ingest_frame(stores, frame, name, source=f"derived:{operation['op']}",
                              parents=[full_ref(p) for p in parents], meta={"operation": operation})
    return version


def filter_rows(stores: Stores, parent: DatasetVersion, query: str, name: str) -> DatasetVersion:
    """Rows of ``parent`` matching a pandas query expression, e.g. ``"age >= 18 and country == 'DE'"``."""
    frame = load_frame(stores, parent)
    try:
        kept = frame.query(query, engine="python")
    except Exception as exc:  # pandas raises many kinds for a bad expression; each is the user's to fix
        raise BadInputError(f"Cannot filter {parent.ref} with {query!r}: {first_line(exc)}", field="query",
                            hint="Write a pandas query over the dataset's columns.") from None
    if not isinstance(kept, pd.DataFrame):
        raise BadInputError(f"The filter {query!r} does not select rows.", field="query")
    return derive(stores, kept, name, [parent], {"op": "filter", "query": query})


def split(stores: Stores, parent: DatasetVersion, *, test_fraction: float = 0.2, seed: int = 0,
          names: tuple[str, str] | None = None) -> tuple[DatasetVersion, DatasetVersion]:
    """A seeded random split into ``NAME.train`` and ``NAME.test`` (or the given names)."""
    if not 0 < test_fraction < 1:
        raise BadInputError(f"test_fraction must be between 0 and 1, got {test_fraction}.", field="test_fraction")
    frame = load_frame(stores, parent)
    if len(frame) < 2:
        raise BadInputError(f"{parent.ref} has {len(frame)} row; a split needs at least 2.", field="dataset")
    order = np.random.default_rng(seed).permutation(len(frame))
    n_test = min(max(1, round(len(frame) * test_fraction)), len(frame) - 1)
    train_name, test_name = names or (f"{parent.name}.train", f"{parent.name}.test")
    operation = {"op": "split", "test_fraction": test_fraction, "seed": seed}
    train = derive(stores, frame.iloc[np.sort(order[n_test:])], train_name, [parent], {**operation, "part": "train"})
    test = derive(stores, frame.iloc[np.sort(order[:n_test])], test_name, [parent], {**operation, "part": "test"})
    return train, test


def join(stores: Stores, left: DatasetVersion, right: DatasetVersion, on: list[str], name: str,
         how: str = "inner") -> DatasetVersion:
    if how not in ("inner", "left", "right", "outer"):
        raise BadInputError(f"Unknown join {how!r}.", field="how", hint="Use inner, left, right or outer.")
    frames = load_frame(stores, left), load_frame(stores, right)
    for version, frame in zip((left, right), frames, strict=True):
        missing = [c for c in on if c not in frame.columns]
        if missing:
            raise BadInputError(f"{version.ref} has no column {missing[0]!r} to join on.", field=missing[0],
                                hint=f"Columns: {', '.join(map(str, frame.columns[:10]))}.")
    joined = frames[0].merge(frames[1], on=on, how=how, suffixes=("", "_right"))
    return derive(stores, joined, name, [left, right], {"op": "join", "on": on, "how": how})


def build_features(stores: Stores, parent: DatasetVersion, function: Callable[[pd.DataFrame], pd.DataFrame],
                   name: str) -> DatasetVersion:
    """Apply a feature function to a version; the function's qualified name is recorded with the result."""
    label = f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', repr(function))}"
    try:
        frame = function(load_frame(stores, parent))
    except Exception as exc:
        raise BadInputError(f"The feature function {label} failed on {parent.ref}: {type(exc).__name__}: "
                            f"{first_line(exc)}", field="function", hint="Fix the function.") from None
    return derive(stores, frame, name, [parent], {"op": "features", "function": label})


def lineage(stores: Stores, version: DatasetVersion) -> dict[str, Any]:
    ref = full_ref(version)
    everything = stores.datasets.versions()
    children = [full_ref(v) for v in everything if ref in v.parents]
    runs = [r for r in stores.runs.search(dataset_name=version.name) if r.dataset == ref]
    models = [m.ref for m in stores.registry.versions() if m.dataset == ref]
    return {"parents": list(version.parents), "children": children, "runs": [r.id for r in runs],
            "run_names": {r.id: r.name for r in runs}, "models": models}
