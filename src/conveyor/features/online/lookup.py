"""Joining online features onto entity rows: the same column names as the offline join (features and
``<view>__found``), so a model trained on a feature join is served the same columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.core.errors import BadInputError
from conveyor.features.online.base import OnlineStore
from conveyor.features.views import Feature, FeatureView

FOUND_SUFFIX = "__found"


def online_features(store: OnlineStore, views: Sequence[tuple[FeatureView, Sequence[Feature]]],
                    entity_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each entity row with, per view, its features (None where the store has no value) and
    ``<view>__found``. One read per view for all rows."""
    out = [dict(row) for row in entity_rows]
    for view, features in views:
        keys = []
        for i, row in enumerate(entity_rows):
            absent = [k for k in view.keys if k not in row]
            if absent:
                raise BadInputError(f"Entity row {i} has no key {absent[0]!r} of feature view {view.name!r}.",
                                    field=absent[0], hint=f"Send {', '.join(view.keys)} in every row.")
            keys.append([row[k] for k in view.keys])
        values = store.get(view.name, keys)
        for row, found in zip(out, values, strict=True):
            for feature in features:
                row[feature.name] = None if found is None else found.get(feature.name)
            row[f"{view.name}{FOUND_SUFFIX}"] = found is not None
    return out
