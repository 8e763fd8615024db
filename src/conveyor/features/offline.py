"""The offline store: a view's source rows (the source dataset version, through the view's transform) and the
training frame made by point-in-time joining several views onto entity rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from conveyor.core.errors import BadInputError, first_line
from conveyor.features.pit import PointInTime
from conveyor.features.sql import run_sql
from conveyor.features.views import Feature, FeatureView

FOUND_SUFFIX = "__found"


def source_rows(view: FeatureView, frame: pd.DataFrame | pa.Table, label: str) -> pd.DataFrame:
    """The rows a view reads: ``frame`` (its source version ``label``) through the view's transform or its SQL
    (run by DuckDB), checked to hold the keys, the timestamp and every feature's column."""
    if view.sql is not None:
        frame = run_sql(view.name, view.sql, frame, view.source_name, label)
    elif isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    if view.transform is not None:
        try:
            frame = view.transform(frame)
        except Exception as exc:  # the user's function: any failure is theirs to fix, reported by name
            raise BadInputError(f"The transform of feature view {view.name!r} failed on {label}: "
                                f"{type(exc).__name__}: {first_line(exc)}", field=view.name,
                                hint="Fix the function.") from None
        if not isinstance(frame, pd.DataFrame):
            raise BadInputError(f"The transform of feature view {view.name!r} returned {type(frame).__name__}, "
                                "not a DataFrame.", field=view.name, hint="Return a pandas DataFrame.")
    needed = [*view.keys, view.timestamp, *(f.column for f in view.select(None))]
    absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if absent:
        raise BadInputError(f"Feature view {view.name!r}: {label} has no column {absent[0]!r}.",
                            field=f"{view.name}.features",
                            hint=f"Columns: {', '.join(map(str, frame.columns[:12]))}.")
    return frame


@dataclass
class ViewInput:
    """One view of a join: its definition, its source rows and the features asked for."""

    view: FeatureView
    rows: pd.DataFrame
    features: list[Feature]


def join(entities: pd.DataFrame, entity_time: str, inputs: Sequence[ViewInput]) -> pd.DataFrame:
    """``entities`` with, per view, the asked features and ``<view>__found``: every entity row is kept, in order."""
    if entity_time not in entities.columns:
        raise BadInputError(f"The entity rows have no time column {entity_time!r}.", field="timestamp",
                            hint=f"Pass --timestamp COLUMN; columns: {', '.join(map(str, entities.columns[:12]))}.")
    out = entities.reset_index(drop=True)
    added: dict[str, pd.Series] = {}
    for item in inputs:
        view = item.view
        absent = [k for k in view.keys if k not in entities.columns]
        if absent:
            raise BadInputError(f"The entity rows have no key column {absent[0]!r} of feature view "
                                f"{view.name!r}.", field=absent[0], hint="Add the entity key to the entity rows.")
        lookup = PointInTime(out, entity_time, item.rows, view.keys, view.timestamp)
        found = lookup.found(view.ttl)  # type: ignore[arg-type]
        for feature in item.features:
            values = lookup.aggregate(feature, found) if feature.agg else lookup.latest(feature.column or "", found)
            _add(added, out, feature.name, values, view.name)
        _add(added, out, f"{view.name}{FOUND_SUFFIX}", pd.Series(found), view.name)
    return pd.concat([out, pd.DataFrame(added)], axis=1) if added else out


def _add(added: dict[str, pd.Series], entities: pd.DataFrame, name: str, values: pd.Series, view: str) -> None:
    if name in added or name in entities.columns:
        raise BadInputError(f"Feature {name!r} of view {view!r} would overwrite a column of the same name.",
                            field="features", hint="Select other columns with --features VIEW:col,... or rename "
                                                   "the feature in its view.")
    added[name] = values.reset_index(drop=True)
