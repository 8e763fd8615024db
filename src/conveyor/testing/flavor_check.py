"""``check_flavor``: proves a model flavor keeps its promises, in the spirit of scikit-learn's ``check_estimator``.

Run it on a fitted model of the flavor and a few rows it can score (numeric rows exercise the native predictor)::

    from conveyor.testing import check_flavor
    check_flavor(MY_FLAVOR, fitted_model, rows)

It checks, and raises AssertionError naming the flavor and the broken promise otherwise:

* the declaration: a name, lower-case suffixes with their dot, ``requires`` as extra names;
* detection: the flavor owns the model (and, once registered, ``flavor_of`` picks it);
* the round trip: ``load(dump(model))`` predicts exactly what the model predicts (labels, probabilities, values);
* suffixes: a file holding the dumped bytes under each suffix reads back to the same predictions (and, once
  registered, the suffix leads to this flavor);
* the task it reads from the model, if any, is a known task (and the one given);
* the native predictor, if any, answers what the slow path answers, on small and large batches;
* contributions, if any, have one row per input row and one block of ``features + 1`` columns per output.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.registry.flavors import FLAVORS, SMALL_BATCH, Flavor, flavor_for_suffix, flavor_of, proba_columns
from conveyor.registry.flavors.base import TASKS


def _fail(flavor: Flavor, message: str) -> AssertionError:
    return AssertionError(f"flavor {flavor.name or type(flavor).__name__!r}: {message}")


def _check_declaration(flavor: Flavor) -> None:
    if not isinstance(flavor, Flavor):
        raise AssertionError(f"{flavor!r} is not a conveyor.registry.flavors.Flavor instance")
    if not flavor.name or not isinstance(flavor.name, str) or flavor.name.strip() != flavor.name:
        raise _fail(flavor, "needs a name (it is stored with every model version)")
    for suffix in flavor.suffixes:
        if not (isinstance(suffix, str) and suffix.startswith(".") and suffix == suffix.lower()):
            raise _fail(flavor, f"suffix {suffix!r} must be lower case and start with a dot")
    if isinstance(flavor.requires, str) or not all(isinstance(e, str) and e for e in flavor.requires):
        raise _fail(flavor, f"requires must be a tuple of extra names, got {flavor.requires!r}")


def _answers(flavor: Flavor, model: Any, rows: pd.DataFrame, task: str, classes: list) -> tuple[Any, Any]:
    return (np.asarray(flavor.predict(model, rows, task, classes)),
            flavor.predict_proba(model, rows, task, classes))


def _same(flavor: Flavor, what: str, expected: tuple[Any, Any], got: tuple[Any, Any]) -> None:
    if not np.array_equal(np.asarray(expected[0]), np.asarray(got[0])):
        raise _fail(flavor, f"{what} changed the predictions")
    if (expected[1] is None) != (got[1] is None):
        raise _fail(flavor, f"{what} changed whether the model gives probabilities")
    if expected[1] is not None and not np.array_equal(np.asarray(expected[1]), np.asarray(got[1])):
        raise _fail(flavor, f"{what} changed the probabilities")


def _check_native(flavor: Flavor, model: Any, rows: pd.DataFrame, task: str, classes: list) -> None:
    native = flavor.native(model)
    if native is None or (task == "classification" and not native.probabilistic):
        return
    big = pd.concat([rows] * (SMALL_BATCH // max(len(rows), 1) + 1), ignore_index=True)
    for frame in (rows.head(1), rows, big):  # one thread and the library's own threading
        matrix = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
        raw = np.asarray(native.raw(matrix), dtype=float)
        if task == "classification":
            slow = np.asarray(flavor.predict_proba(model, frame, task, classes), dtype=float)
            fast = proba_columns(raw)
        else:
            slow = np.asarray(flavor.predict(model, frame, task, classes), dtype=float)
            fast = raw
        if fast.shape != slow.shape or not np.allclose(fast, slow, rtol=1e-6, atol=1e-9):
            raise _fail(flavor, f"the native predictor disagrees with predict on {len(frame)} rows")


def _check_contributions(flavor: Flavor, model: Any, rows: pd.DataFrame) -> None:
    matrix = np.ascontiguousarray(rows.to_numpy(dtype=np.float64))
    values = flavor.contributions(model, matrix)
    if values is None:
        return
    values = np.asarray(values)
    width = rows.shape[1] + 1
    if values.ndim != 2 or values.shape[0] != len(rows) or values.shape[1] % width:
        raise _fail(flavor, f"contributions of shape {values.shape} for {rows.shape} rows: expected rows x "
                            f"(blocks of {width}: each feature and the bias)")
    if not np.isfinite(values).all():
        raise _fail(flavor, "contributions are not all finite")


def check_flavor(flavor: Flavor, model: Any, rows: pd.DataFrame, *, task: str | None = None,
                 classes: list | None = None) -> None:
    """Check ``flavor`` on a fitted ``model`` and ``rows`` it can score; raises AssertionError on a broken promise.
    ``task`` and ``classes`` default to what the flavor reads from the model."""
    _check_declaration(flavor)
    if not flavor.owns(model):
        raise _fail(flavor, f"does not own the {type(model).__name__} it was given")
    registered = flavor.name in FLAVORS and FLAVORS.get(flavor.name) is flavor
    if registered and flavor_of(model) is not flavor:
        raise _fail(flavor, f"flavor_of picks {flavor_of(model).name!r} for its model")
    read = flavor.task(model)
    if read is not None:
        if read[0] not in TASKS or not isinstance(read[1], list):
            raise _fail(flavor, f"task() gave {read!r}: expected (one of {TASKS}, a list of classes)")
        if task is not None and read[0] != task:
            raise _fail(flavor, f"task() reads {read[0]!r} from a {task} model")
    task = task or (read[0] if read else "regression")
    classes = list(classes if classes is not None else (read[1] if read else []))
    expected = _answers(flavor, model, rows, task, classes)
    if len(expected[0]) != len(rows):
        raise _fail(flavor, f"{len(expected[0])} predictions for {len(rows)} rows")
    data = flavor.dump(model)
    if not isinstance(data, bytes) or not data:
        raise _fail(flavor, "dump() must return non-empty bytes")
    _same(flavor, "dump() and load()", expected, _answers(flavor, flavor.load(data), rows, task, classes))
    with tempfile.TemporaryDirectory(prefix="conveyor-flavor-") as folder:
        for suffix in flavor.suffixes:
            path = Path(folder) / f"model{suffix}"
            path.write_bytes(data)
            _same(flavor, f"reading a {suffix} file", expected,
                  _answers(flavor, flavor.read_file(path), rows, task, classes))
            if registered and flavor_for_suffix(suffix.upper()) is not flavor:
                raise _fail(flavor, f"suffix {suffix} leads to another flavor")
    if all(pd.api.types.is_numeric_dtype(rows[c]) for c in rows.columns):  # boosters take a float matrix
        _check_native(flavor, model, rows, task, classes)
        _check_contributions(flavor, model, rows)
