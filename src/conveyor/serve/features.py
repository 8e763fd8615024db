"""Online features for a served model whose lineage names feature views.

A model trained on a feature join (``conveyor features join ... --name training``) has, in its training dataset's
``meta.operation``, the views, their versions and the columns taken. Serving it, a request carries the entity keys
(and the model's other inputs); :class:`OnlineJoin` reads each view's features from the online store and adds them
with ``<view>__found``, exactly the columns the offline join gave training. An entity the store does not hold gets
null features and ``<view>__found`` false, as a training row with no value within the TTL did; the model sees the
same missing values it was trained with. The views are rebuilt from the *recorded* definitions (the version
training used), not from the files on disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.refs import DatasetRef
from conveyor.features.offline import FOUND_SUFFIX
from conveyor.features.online import OnlineStore, online_features
from conveyor.features.views import Feature, FeatureView, view_from_dict
from conveyor.store import Stores
from conveyor.store.features import FeatureViewVersion

log = logging.getLogger(__name__)
MAX_LINEAGE = 50  # datasets walked back from the model's training dataset


def lineage_views(stores: Stores, version: ModelVersion) -> list[tuple[FeatureView, list[Feature]]]:
    """The feature views (as training recorded them) and columns of the nearest feature join in the lineage of
    ``version``'s training dataset; empty when there is none."""
    if not version.dataset:
        return []
    queue: list[str] = [version.dataset]
    seen: set[str] = set()
    while queue and len(seen) < MAX_LINEAGE:
        ref = queue.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        parsed = DatasetRef.parse(ref)
        try:
            dataset = stores.datasets.get_version(parsed.name, parsed.version)
        except NotFoundError:
            continue  # an erased or foreign parent: nothing to learn from it
        operation = dataset.meta.get("operation") or {}
        if isinstance(operation, dict) and operation.get("op") == "feature_join":
            return [_recorded_view(stores, entry, version) for entry in operation.get("views", [])]
        queue.extend(dataset.parents)
    return []


def _recorded_view(stores: Stores, entry: dict[str, Any], model: ModelVersion
                   ) -> tuple[FeatureView, list[Feature]]:
    name = entry.get("view", "")
    record = next((v for v in stores.features.versions(name) if v.version == entry.get("version")), None)
    if record is None:
        raise NotFoundError(f"Model {model.ref} was trained on feature view {name!r} version "
                            f"{str(entry.get('version'))[:12]}, which this store does not hold.", field="features",
                            hint="Serve it against the store it was trained with.")
    _warn_if_skewed(stores, record, model)
    definition = {k: v for k, v in record.definition.items() if k != "transform"}  # online values need no code
    view = view_from_dict(definition, f"feature view {name!r} (recorded)")
    return view, view.select(entry.get("features") or None)


def _warn_if_skewed(stores: Stores, trained: FeatureViewVersion, model: ModelVersion) -> None:
    """Log when the view's newest materialisation came from another definition than the model's training join:
    the online values may then differ from what the model learnt on (train/serve skew)."""
    materialised = [v for v in stores.features.versions(trained.view) if v.materialized]
    if materialised and materialised[-1].definition_hash != trained.definition_hash:
        log.warning("Model %s was trained on feature view %r as defined in version %s, but the online store was "
                    "last materialised from version %s, whose definition differs: the served values may not be "
                    "what the model learnt on. Retrain on a new join, or materialise the definition it was "
                    "trained with.", model.ref, trained.view, trained.ref, materialised[-1].ref)


class OnlineJoin:
    """Adds the online features of ``views`` to decoded request frames; the store is opened on first use."""

    def __init__(self, views: list[tuple[FeatureView, list[Feature]]], signature: list[dict[str, Any]],
                 opener: Callable[[], OnlineStore]) -> None:
        self.views = views
        self.opener = opener
        self._store: OnlineStore | None = None
        self._lock = threading.Lock()
        added = {f.name for _, features in views for f in features} | {f"{v.name}{FOUND_SUFFIX}" for v, _ in views}
        keys = list(dict.fromkeys(k for v, _ in views for k in v.keys))
        given = [c for c in signature if c["name"] not in added]
        named = {c["name"] for c in given}
        # what a request carries: the model's other inputs and every view's keys (as text where not an input)
        self.request_inputs = given + [{"name": k, "kind": "categorical"} for k in keys if k not in named]
        self.request_names = [c["name"] for c in self.request_inputs]

    @property
    def store(self) -> OnlineStore:
        with self._lock:
            if self._store is None:
                self._store = self.opener()
            return self._store

    def join(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (one row per entity) with each view's features and ``<view>__found``."""
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        joined = online_features(self.store, self.views, rows)
        return pd.DataFrame(joined, columns=list(joined[0]) if joined else None)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def online_join_for(stores: Stores, version: ModelVersion, opener: Callable[[], OnlineStore] | None
                    ) -> OnlineJoin | None:
    """The join a served version needs (None when its lineage names no feature view)."""
    views = lineage_views(stores, version)
    if not views:
        return None
    if opener is None:
        raise BadInputError(f"Model {version.ref} was trained on feature views "
                            f"({', '.join(v.name for v, _ in views)}), and this server has no online store.",
                            field="features", hint="Serve it with `conveyor serve` (or Project.serving_app), which "
                                                   "opens the project's features.online_store.")
    return OnlineJoin(views, version.signature.get("inputs", []), opener)
