"""``check_drift_test``: prove that a drift test keeps the contract of :class:`conveyor.stats.DriftTest`, in the
spirit of scikit-learn's ``check_estimator``. Run it on every built-in and on your own plug-in::

    from conveyor.testing.drift_tests import check_drift_test
    check_drift_test(MyTest())

It raises AssertionError naming the first broken promise:

* it declares a name, the kinds it applies to (a non-empty subset of numeric, categorical, bool), a finite
  threshold and a finite, non-negative effect floor;
* for each kind it declares: identical samples do not drift and a clearly shifted sample does, from rows and (unless
  it ``needs_rows``) from a sketch of them; scores and supporting numbers are finite, JSON-ready and the same when
  asked twice;
* the verdict is the threshold's and the effect floor's: ``drifted`` says exactly whether the score is beyond the
  threshold (below it for p-value tests) with an effect of at least the floor, and moving either past the measured
  value turns a drifted verdict off;
* it refuses a kind it does not declare with a BadInputError instead of a wrong answer.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.stats import KINDS, ColumnSketch, DriftTest, Verdict, sketch_column

ROWS = 5000


def samples(kind: str, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    """A reference sample of ``kind`` and a clearly shifted one."""
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        return pd.Series(rng.normal(0.0, 1.0, ROWS)), pd.Series(rng.normal(3.0, 1.0, ROWS))
    if kind == "bool":
        return pd.Series(rng.random(ROWS) < 0.2), pd.Series(rng.random(ROWS) < 0.8)
    values = np.array(["a", "b", "c", "d"], dtype=object)
    return (pd.Series(rng.choice(values, ROWS, p=[0.4, 0.3, 0.2, 0.1])),
            pd.Series(rng.choice(values, ROWS, p=[0.05, 0.1, 0.25, 0.6])))


def check_drift_test(test: DriftTest, *, seed: int = 0) -> None:
    """Check ``test`` against the drift-test contract; raise AssertionError naming what is broken."""
    _check_declarations(test)
    for kind in test.kinds:
        reference, shifted = samples(kind, seed)
        sketch = ColumnSketch.from_dict(sketch_column(reference))
        currents: list[tuple[str, Any, Any]] = [("rows", reference, shifted)]
        if not test.needs_rows:
            currents.append(("a sketch", sketch_column(reference), sketch_column(shifted)))
        for how, same, moved in currents:
            quiet = _score(test, sketch, same, f"identical {kind} samples ({how})")
            assert not quiet.drifted, f"{test.name}: identical {kind} samples ({how}) drifted: {quiet}"
            loud = _score(test, sketch, moved, f"a shifted {kind} sample ({how})")
            assert loud.drifted, f"{test.name}: a clearly shifted {kind} sample ({how}) did not drift: {loud}"
            again = test.score(sketch, moved)
            assert (again.score, again.stats) == (loud.score, loud.stats), \
                f"{test.name}: the same {kind} comparison ({how}) scored {loud.score} then {again.score}"
            _check_overrides(test, sketch, moved, loud, kind)
    for kind in set(KINDS) - set(test.kinds):
        reference, shifted = samples(kind, seed)
        try:
            test.score(reference, shifted)
        except BadInputError:
            continue
        raise AssertionError(f"{test.name}: scored a {kind} column although it declares kinds {test.kinds}")


def _check_declarations(test: DriftTest) -> None:
    assert isinstance(test, DriftTest), f"{test!r} is not a conveyor.stats.DriftTest"
    assert isinstance(test.name, str) and test.name, f"{test!r} declares no name"
    assert test.kinds and set(test.kinds) <= set(KINDS), \
        f"{test.name}: kinds {test.kinds!r} must be a non-empty subset of {KINDS}"
    assert isinstance(test.threshold, int | float) and math.isfinite(test.threshold), \
        f"{test.name}: threshold {test.threshold!r} is not a finite number"
    assert isinstance(test.effect_floor, int | float) and math.isfinite(test.effect_floor) \
        and test.effect_floor >= 0, f"{test.name}: effect floor {test.effect_floor!r} is not a finite number >= 0"


def _score(test: DriftTest, reference: ColumnSketch, current: Any, what: str) -> Verdict:
    verdict = test.score(reference, current)
    assert verdict.method == test.name, f"{test.name}: its verdict calls it {verdict.method!r}"
    assert math.isfinite(verdict.score), f"{test.name}: score {verdict.score} on {what} is not finite"
    assert verdict.effect is None or math.isfinite(verdict.effect), \
        f"{test.name}: effect {verdict.effect} on {what} is not finite"
    assert verdict.effect is not None or not test.effect_floor, \
        f"{test.name}: declares an effect floor of {test.effect_floor} but measured no effect on {what}"
    try:
        json.dumps(verdict.stats, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{test.name}: supporting numbers on {what} are not JSON-ready: {exc}") from None
    assert verdict.threshold == test.threshold and verdict.effect_floor == test.effect_floor, \
        f"{test.name}: the verdict on {what} reports threshold {verdict.threshold}, not its own {test.threshold}"
    beyond = verdict.score < test.threshold if test.lower_is_drift else verdict.score >= test.threshold
    large = verdict.effect is None or verdict.effect >= test.effect_floor
    assert verdict.drifted == (beyond and large), \
        f"{test.name}: drifted={verdict.drifted} on {what} disagrees with score {verdict.score} vs threshold " \
        f"{test.threshold} and effect {verdict.effect} vs floor {test.effect_floor}"
    return verdict


def _check_overrides(test: DriftTest, reference: ColumnSketch, moved: Any, loud: Verdict, kind: str) -> None:
    past = loud.score if test.lower_is_drift else loud.score + abs(loud.score) + 1.0
    original = test.threshold
    stricter = test.with_threshold(past)
    assert stricter.threshold == past and test.threshold == original, \
        f"{test.name}: with_threshold({past}) must return a copy with that threshold and leave the test as it was"
    assert not stricter.score(reference, moved).drifted, \
        f"{test.name}: still drifts on the shifted {kind} sample with its threshold moved past the score ({past})"
    if loud.effect is not None:
        floor = loud.effect + 1.0
        assert not test.with_threshold(effect_floor=floor).score(reference, moved).drifted, \
            f"{test.name}: still drifts on the shifted {kind} sample with its effect floor at {floor}"
