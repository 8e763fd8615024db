"""A stored sketch read back for computing: quantiles as an array on the one grid, shares as a dict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.stats.legacy import upgrade_column
from conveyor.stats.sketch import OTHER, sketch_column


@dataclass(frozen=True, eq=False)
class ColumnSketch:
    """A sketch read back for computing: quantiles as an array on :data:`~conveyor.stats.sketch.LEVELS`, shares
    (``top``) as a dict.

    ``n`` is the number of values the distribution describes (finite numbers, non-null categories); a sketch with
    ``n == 0`` has no distribution to compare.
    """

    kind: str
    rows: int
    count: int
    infinite: int = 0
    quantiles: np.ndarray | None = None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    shares: dict[str, float] = field(default_factory=dict)
    complete: bool = True

    @property
    def n(self) -> int:
        if self.kind == "numeric":
            return 0 if self.quantiles is None else self.count - self.infinite
        if self.kind == "datetime":
            return self.count
        return self.count if self.shares else 0

    @property
    def nulls(self) -> int:
        return self.rows - self.count

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0

    @property
    def known(self) -> list[str]:
        """The categories the sketch names (the pooled bucket left out), most frequent first."""
        return [value for value in self.shares if value != OTHER]

    @classmethod
    def of(cls, values: pd.Series | np.ndarray | list[Any], kind: str | None = None) -> ColumnSketch:
        """Sketch values now (a reference given as rows)."""
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        return cls.from_dict(sketch_column(series.reset_index(drop=True), kind))

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> ColumnSketch:
        """Read a stored sketch of any format (older ones through :func:`conveyor.stats.legacy.upgrade_column`)."""
        data = upgrade_column(stored)
        kind = data["kind"]
        base = cls(kind=kind, rows=int(data["rows"]), count=int(data["count"]))
        if kind == "numeric":
            quantiles = data.get("quantiles")
            return replace(base, infinite=int(data.get("infinite") or 0),
                           quantiles=None if quantiles is None else np.asarray(quantiles, dtype=np.float64),
                           mean=data.get("mean"), std=data.get("std"), min=data.get("min"), max=data.get("max"))
        if kind == "datetime":
            return base
        return replace(base, shares=dict(data.get("top") or {}), complete=bool(data.get("complete", True)))


def read_sketches(stored: Mapping[str, Any]) -> dict[str, ColumnSketch]:
    """The column sketches of a stored profile or reference document (``{"columns": {name: sketch}}``)."""
    columns = stored.get("columns") if isinstance(stored, Mapping) else None
    if not isinstance(columns, Mapping):
        raise BadInputError("The reference has no 'columns' mapping of column sketches.", field="reference",
                            hint="Pass a dataset version's profile or a model version's reference statistics.")
    return {str(name): ColumnSketch.from_dict(sketch) for name, sketch in columns.items()}
