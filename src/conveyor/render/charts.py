"""The one way to draw a chart: build a :class:`Chart` here (plain data, no drawing code), put it on a page with the
``chart`` macro of "macros.html", and the vendored uPlot draws it in the browser (static/conveyor-charts.js). The
figure carries its data as JSON (``data-spec``), so a test or a screen reader reads the points from the page itself.

Kinds: ``line`` (curves or time series; optional confidence band and y=x diagonal), ``scatter`` and ``bars``
(categorical x; several series side by side).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

COLORS = ("#2563eb", "#e8772e", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d")
REFERENCE, CURRENT = "#8a9bb0", "#e8772e"
_ids = itertools.count(1)

Point = Sequence[float]


@dataclass
class Chart:
    """A chart's data: ``x`` values (or category indices), one list of y values per series (None: no point)."""

    kind: str  # line | scatter | bars
    title: str
    x: list[float]
    series: list[dict[str, Any]]  # {"name", "color", "values": [...]}
    x_label: str = ""
    y_label: str = ""
    x_time: bool = False
    categories: list[str] = field(default_factory=list)
    diagonal: bool = False
    band: tuple[int, int] | None = None  # indices of the lower and upper series of a confidence band
    id: str = field(default_factory=lambda: f"chart-{next(_ids)}")

    @property
    def points(self) -> int:
        return sum(v is not None for s in self.series for v in s["values"])

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "x": self.x, "series": self.series,
                "xLabel": self.x_label, "yLabel": self.y_label, "xTime": self.x_time,
                "categories": self.categories, "diagonal": self.diagonal,
                "band": list(self.band) if self.band else None}


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _align(series: Mapping[str, Iterable[Point]]) -> tuple[list[float], list[list[float | None]]]:
    """Series of (x, y) points on one shared, sorted x axis (a series has None where it has no point). A series may
    hold several points at one x (a ROC curve's vertical steps): the k-th of them shares a slot with the k-th of
    the other series there, so none is lost and the order along the curve is kept."""
    keyed = []
    for points in series.values():
        seen: dict[float, int] = {}
        column = []
        for p in points:
            x = float(p[0])
            seen[x] = seen.get(x, -1) + 1
            column.append(((x, seen[x]), _clean(p[1])))
        keyed.append(column)
    keys = sorted({key for column in keyed for key, _ in column})
    where = {key: i for i, key in enumerate(keys)}
    columns = []
    for column in keyed:
        values: list[float | None] = [None] * len(keys)
        for key, y in column:
            values[where[key]] = y
        columns.append(values)
    return [x for x, _ in keys], columns


def _series(names: Iterable[str], columns: list[list[float | None]], colors: Sequence[str] | None = None
            ) -> list[dict[str, Any]]:
    palette = colors or COLORS
    return [{"name": name, "color": palette[i % len(palette)], "values": column}
            for i, (name, column) in enumerate(zip(names, columns, strict=True))]


def line(title: str, series: Mapping[str, Iterable[Point]], *, x_label: str = "", y_label: str = "",
         time: bool = False, diagonal: bool = False, band: tuple[str, str] | None = None,
         colors: Sequence[str] | None = None) -> Chart:
    """Lines through (x, y) points, one per series; ``time``: x is a Unix time; ``band``: the names of two series
    drawn as a shaded interval (a confidence band) rather than lines."""
    xs, columns = _align(series)
    names = list(series)
    drawn = _series(names, columns, colors)
    indices = (names.index(band[0]), names.index(band[1])) if band else None
    return Chart("line", title, xs, drawn, x_label, y_label, time, diagonal=diagonal, band=indices)


def scatter(title: str, points: Iterable[Point], *, x_label: str = "", y_label: str = "", name: str = "points"
            ) -> Chart:
    """Points without lines (e.g. residuals against predictions)."""
    xs, columns = _align({name: points})
    return Chart("scatter", title, xs, _series([name], columns), x_label, y_label)


def bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
         y_label: str = "", colors: Sequence[str] | None = None) -> Chart:
    """Bars per category, the series side by side (e.g. reference and current share of each bin)."""
    columns = [[_clean(v) for v in values] for values in series.values()]
    for name, column in zip(series, columns, strict=True):
        if len(column) != len(categories):
            raise ValueError(f"series {name!r} has {len(column)} values for {len(categories)} categories")
    return Chart("bars", title, [float(i) for i in range(len(categories))], _series(series, columns, colors),
                 "", y_label, categories=[str(c) for c in categories])
