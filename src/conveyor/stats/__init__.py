"""L1: one statistics engine for drift. Sketches of columns (quantiles on one grid, category shares), a registry of
drift tests, the policy that picks one per column, and :func:`compare`, which ``conveyor data diff``, ``conveyor
monitor``, ``conveyor retrain`` and the agent all call, so the same window gets the same verdict from every verb.

Imports only conveyor.core, numpy, pandas and (for the built-in tests, on first use) SciPy.
"""

from conveyor.stats.base import DRIFT_TESTS, KINDS, DriftTest, Measurement, Verdict
from conveyor.stats.column import ColumnSketch, read_sketches
from conveyor.stats.compare import ColumnDrift, DriftReport, column_drift, compare
from conveyor.stats.policy import DriftPolicy
from conveyor.stats.sketch import FORMAT, LEVELS, OTHER, category_counts, cdf_from_quantiles, sketch_column
from conveyor.stats.window import RowsWindow, SketchWindow, Window, as_sketch, as_window

__all__ = ["DRIFT_TESTS", "FORMAT", "KINDS", "LEVELS", "OTHER", "ColumnDrift", "ColumnSketch", "DriftPolicy",
           "DriftReport", "DriftTest", "Measurement", "RowsWindow", "SketchWindow", "Verdict", "Window", "as_sketch",
           "as_window", "category_counts", "cdf_from_quantiles", "column_drift", "compare", "read_sketches",
           "sketch_column"]
