"""Drift tests: the interface, the verdict it returns, and the registry every test is found in.

A drift test compares a reference :class:`~conveyor.stats.column.ColumnSketch` with a current
:class:`~conveyor.stats.window.Window` (rows, or a sketch of them) and says how far apart they are. It declares:

* ``name``: what users type (``monitor.numeric_method: ks``) and what reports show as ``method``;
* ``kinds``: the column kinds it applies to (``numeric``, ``categorical``, ``bool``);
* ``threshold``: where drift starts; a p-value test (``lower_is_drift``) drifts *below* it, a distance at or above;
* ``effect_floor``: the effect size a p-value test also needs, so a huge window's tiny shift raises no alarm;
* ``needs_rows``: True when the current side must be rows (the test reads the values themselves).

A test implements :meth:`DriftTest.measure` only; :meth:`DriftTest.score` wraps it once for every test: it reads
the arguments (a stored dict or values are sketched / wrapped first), checks the kind, and judges the threshold and
the effect floor, so no test can get those wrong. Add a test by subclassing and registering an instance, in code
(``DRIFT_TESTS.register("ad", AndersonDarling())``) or from another package through the ``conveyor.drift_tests``
entry-point group; ``conveyor.testing.drift_tests.check_drift_test`` proves it behaves.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.errors import BadInputError
from conveyor.core.plugins import Registry
from conveyor.stats.column import ColumnSketch
from conveyor.stats.window import Window, as_sketch, as_window

KINDS = ("numeric", "categorical", "bool")
"""The kinds a drift test may declare (dates have no drift test)."""


@dataclass(frozen=True)
class Measurement:
    """What a test measured: its ``score``, the ``effect`` size its floor applies to (None: no floor), and
    supporting numbers for reports (``{"ks": 0.12, "ks_p_value": 0.003}``), every one JSON-ready."""

    score: float
    effect: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """One test's answer for one column."""

    method: str
    score: float
    threshold: float
    drifted: bool
    effect: float | None = None
    effect_floor: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


class DriftTest:
    """Base class of drift tests; see the module docstring for the contract."""

    name: str = ""
    kinds: tuple[str, ...] = ()
    threshold: float = 0.0
    effect_floor: float = 0.0
    lower_is_drift: bool = False
    needs_rows: bool = False

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        raise NotImplementedError

    def score(self, reference: Any, current: Any) -> Verdict:
        """Compare ``reference`` (a ColumnSketch, a stored sketch dict, or values to sketch) with ``current`` (a
        Window, values, or a sketch) and judge the result against this test's threshold and effect floor."""
        reference = as_sketch(reference)
        window = as_window(current, reference.kind)
        if reference.kind not in self.kinds:
            raise BadInputError(f"The drift test {self.name!r} does not apply to {reference.kind} columns.",
                                field="method", hint=f"It applies to: {', '.join(self.kinds)}.")
        if self.needs_rows and not window.exact:
            raise BadInputError(f"The drift test {self.name!r} needs the current rows, not a sketch of them.",
                                field="method", hint="Compare against rows, or pick a test that works on sketches.")
        if reference.n == 0 or window.n == 0:
            raise BadInputError(f"The drift test {self.name!r} needs values on both sides; one side has none.",
                                field="current", hint="Columns with no values are judged by their null shares.")
        return self.judge(self.measure(reference, window))

    def judge(self, measured: Measurement) -> Verdict:
        beyond = measured.score < self.threshold if self.lower_is_drift else measured.score >= self.threshold
        large = measured.effect is None or measured.effect >= self.effect_floor
        return Verdict(self.name, float(measured.score), self.threshold, bool(beyond and large), measured.effect,
                       self.effect_floor, measured.stats)

    def with_threshold(self, threshold: float | None = None, effect_floor: float | None = None) -> DriftTest:
        """A copy of this test with another threshold and/or effect floor (what a policy override makes)."""
        changed = copy.copy(self)
        if threshold is not None:
            changed.threshold = _finite("threshold", threshold)
        if effect_floor is not None:
            changed.effect_floor = _finite("effect floor", effect_floor)
        return changed

    def __repr__(self) -> str:
        floor = f", effect_floor={self.effect_floor}" if self.effect_floor else ""
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold}{floor})"


def _finite(what: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInputError(f"A drift test's {what} must be a number, got {value!r}.", field=what) from None
    if not math.isfinite(number):
        raise BadInputError(f"A drift test's {what} must be finite, got {value!r}.", field=what)
    return number


def _check_test(name: str, test: DriftTest) -> None:
    if not isinstance(test, DriftTest):
        raise BadInputError(f"The drift test {name!r} is a {type(test).__name__}, not a conveyor.stats.DriftTest "
                            "instance.", field="method", hint="Register an instance of a DriftTest subclass.")
    if test.name != name:
        raise BadInputError(f"The drift test registered as {name!r} calls itself {test.name!r}.", field="method",
                            hint="Register it under its own name.")


DRIFT_TESTS: Registry[DriftTest] = Registry("drift test", "conveyor.drift_tests", field="monitor.numeric_method",
                                            check=_check_test)
"""Every drift test by name; the built-ins load on first use (they import SciPy)."""

for _name, _target in (("ks", "conveyor.stats.numeric:KS"), ("wasserstein", "conveyor.stats.numeric:WASSERSTEIN"),
                       ("chi2", "conveyor.stats.categorical:CHI2"),
                       ("jensenshannon", "conveyor.stats.categorical:JENSEN_SHANNON"),
                       ("psi", "conveyor.stats.psi:PSI")):
    DRIFT_TESTS.register_lazy(_name, _target)
