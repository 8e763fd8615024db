"""Which drift test judges a column: one policy for every verb (``data diff``, ``monitor``, ``retrain``, the agent).

With ``"auto"`` (the default) the test follows the column's kind and the window's size, because a p-value on a
large sample flags shifts too small to matter:

=================  ==============================  ====================================================
column             window < ``small_window`` rows  window >= ``small_window`` rows
=================  ==============================  ====================================================
numeric            KS, p < 0.05 and KS >= 0.1      normalised Wasserstein >= 0.1
categorical/bool   chi-square, p < 0.05 and        Jensen-Shannon distance >= 0.1, once the window also
                   effect >= 0.1                   holds ``rows_per_category`` rows per reference category
=================  ==============================  ====================================================

The rows-per-category rule exists because Jensen-Shannon is biased upwards on sparse counts: 1000 rows over 100
categories score about 0.12 with no drift at all (flights' ``dest``), so such a window is judged by chi-square with
its effect size instead. Any registered test can be named instead of ``auto`` (``psi``, a plug-in's), and any
test's threshold can be overridden (``thresholds={"wasserstein": 0.15}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError
from conveyor.stats.base import DRIFT_TESTS, DriftTest
from conveyor.stats.column import ColumnSketch

AUTO = "auto"
REPORTED = ("ks", "wasserstein", "chi2", "jensenshannon", "psi")
"""The tests whose scores every comparison reports beside the verdict's (those that apply to the column's kind)."""


@dataclass(frozen=True)
class DriftPolicy:
    """How drift is judged. ``numeric_method`` / ``categorical_method``: ``"auto"`` or a registered test's name;
    ``small_window``: the window size where ``auto`` moves from p-value tests to distances; ``rows_per_category``:
    the rows per reference category a categorical window needs before Jensen-Shannon judges it; ``thresholds``:
    per-test threshold overrides by test name."""

    numeric_method: str = AUTO
    categorical_method: str = AUTO
    small_window: int = 1000
    rows_per_category: int = 50
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", MappingProxyType(dict(self.thresholds)))  # immutable, shareable
        for setting, kind in (("numeric_method", "numeric"), ("categorical_method", "categorical")):
            name = getattr(self, setting)
            if name == AUTO:
                continue
            if name not in DRIFT_TESTS or kind not in DRIFT_TESTS.get(name).kinds:
                problem = (f"Unknown {kind} drift method {name!r}." if name not in DRIFT_TESTS
                           else f"The drift test {name!r} does not apply to {kind} columns.")
                raise BadInputError(problem, field=f"monitor.{setting}",
                                    hint=f"Use one of: {', '.join(self.choices(kind))}.")
        for size in ("small_window", "rows_per_category"):
            value = getattr(self, size)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInputError(f"monitor.{size} must be a whole number >= 1, got {value!r}.",
                                    field=f"monitor.{size}")
        for name, value in self.thresholds.items():
            if name not in DRIFT_TESTS:
                raise NotFoundError.for_name("drift test", name, DRIFT_TESTS.names()).with_field("monitor.thresholds")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BadInputError(f"The threshold of drift test {name!r} must be a finite number, got {value!r}.",
                                    field=f"monitor.thresholds.{name}")

    @staticmethod
    def choices(kind: str) -> list[str]:
        """``auto`` and every registered test that applies to ``kind``, by name."""
        names = [AUTO]
        for name in sorted(DRIFT_TESTS.names()):
            try:
                applies = kind in DRIFT_TESTS.get(name).kinds
            except ConveyorError:  # a broken plug-in is reported when it is asked for by name
                continue
            if applies:
                names.append(name)
        return names

    def method(self, reference: ColumnSketch, n: int) -> str:
        """The test that judges a column with this reference and ``n`` current values."""
        if reference.kind == "numeric":
            if self.numeric_method != AUTO:
                return self.numeric_method
            return "ks" if n < self.small_window else "wasserstein"
        if self.categorical_method != AUTO:
            return self.categorical_method
        enough = max(self.small_window, self.rows_per_category * len(reference.shares))
        return "chi2" if n < enough else "jensenshannon"

    def test(self, name: str) -> DriftTest:
        """The registered test ``name``, with this policy's threshold for it."""
        test = DRIFT_TESTS.get(name)
        return test.with_threshold(self.thresholds[name]) if name in self.thresholds else test

    def reported(self, kind: str, chosen: str) -> list[str]:
        """Every test whose scores a column of ``kind`` reports: the built-ins that apply, and the chosen one."""
        names = [n for n in REPORTED if kind in DRIFT_TESTS.get(n).kinds]
        return names if chosen in names else [*names, chosen]
