"""``project.features``: the feature store, as `conveyor features ...` works with it (apply, list, show, join,
materialize, get), plus :meth:`FeaturesAPI.online_features` for a caller that serves a model (``serve`` may call
:func:`online_features`).

Views are declared in ``features/*.yaml`` and ``features/*.py``; a view version is its definition hash plus the
source dataset version it read, recorded by ``apply`` and by every join and materialisation.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import pandas as pd

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.settings import STATE_DIR
from conveyor.data import datasets, lineage, readers
from conveyor.features import catalog, offline
from conveyor.features.online import OnlineStore, open_online_store
from conveyor.features.online import online_features as join_online
from conveyor.features.pit import to_nanos
from conveyor.features.views import Feature, FeatureView
from conveyor.project._base import LocalAPI, ProjectState
from conveyor.store.features import FeatureViewVersion

Entities: TypeAlias = "str | Path | pd.DataFrame"


class FeaturesAPI(Protocol):
    """Feature views, point-in-time joins and the online store."""

    def views(self) -> dict[str, FeatureView]: ...

    def apply(self, names: builtins.list[str] | None = None) -> builtins.list[tuple[FeatureViewVersion, bool]]: ...

    def list(self) -> builtins.list[dict[str, Any]]: ...

    def show(self, name: str) -> dict[str, Any]: ...

    def join(self, entities: Entities, features: Sequence[str], *, timestamp: str | None = None
             ) -> pd.DataFrame: ...

    def join_to_dataset(self, entities: Entities, features: Sequence[str], name: str, *,
                        timestamp: str | None = None) -> DatasetVersion: ...

    def join_to_file(self, entities: Entities, features: Sequence[str], path: str | Path, *,
                     timestamp: str | None = None) -> int: ...

    def materialize(self, view: str, *, at: Any = None) -> dict[str, Any]: ...

    def get(self, view: str, keys: Sequence[Sequence[Any]]) -> builtins.list[dict[str, Any] | None]: ...

    def online_features(self, entity_rows: Sequence[Mapping[str, Any]], features: Sequence[str] | None = None
                        ) -> builtins.list[dict[str, Any]]: ...


class LocalFeatures(LocalAPI):
    """:class:`FeaturesAPI` on this project's files and stores."""

    # definitions
    def views(self) -> dict[str, FeatureView]:
        """Every view declared in features/*.yaml and features/*.py, by name."""
        return {name: view for name, (view, _) in catalog.discover(self.root).items()}

    def apply(self, names: builtins.list[str] | None = None) -> builtins.list[tuple[FeatureViewVersion, bool]]:
        """Check each view against its source dataset and record its version (definition hash + source
        version); returns (version, whether it was new) per view."""
        found = catalog.discover(self.root)
        if not found:
            raise NotFoundError(f"No feature views in {self.root / catalog.FOLDER}.", field="features",
                                hint="Write features/NAME.yaml (docs/features.md).")
        for name in names or []:
            self._view(name, found)
        applied = []
        for name, (view, origin) in found.items():
            if not names or name in names:
                version, created, _ = self._record(view, origin)
                applied.append((version, created))
        return applied

    def list(self) -> builtins.list[dict[str, Any]]:
        """Each declared view with its latest applied version (None when never applied or changed since)."""
        out = []
        for name, (view, origin) in catalog.discover(self.root).items():
            applied = self.stores.features.versions(name)
            latest = applied[-1] if applied else None
            current = latest is not None and latest.definition_hash == view.definition_hash()
            out.append({"view": name, "origin": origin, "source": view.source, "entity": list(view.keys),
                        "features": view.feature_names, "ttl": view.to_dict()["ttl"],
                        "version": latest.ref if latest else None, "applied": bool(applied),
                        "changed_since_apply": bool(applied) and not current})
        return out

    def show(self, name: str) -> dict[str, Any]:
        """A view's definition, where it is declared, and every applied version with its materialisations."""
        found = catalog.discover(self.root)
        view = self._view(name, found)
        return {"view": name, "origin": found[name][1], "definition": view.to_dict(),
                "definition_hash": view.definition_hash(),
                "versions": [v.to_dict() for v in self.stores.features.versions(name)]}

    # offline
    def join(self, entities: Entities, features: Sequence[str], *, timestamp: str | None = None
             ) -> pd.DataFrame:
        """Point-in-time join of ``features`` (``VIEW`` or ``VIEW:col,col``) onto the entity rows (a dataset ref,
        a CSV/Parquet file or a DataFrame): every row kept, ``<view>__found`` per view."""
        return self._join(entities, features, timestamp)[0]

    def join_to_dataset(self, entities: Entities, features: Sequence[str], name: str, *,
                        timestamp: str | None = None) -> DatasetVersion:
        """The join stored as a version of dataset ``name``; its parents are the entity dataset and the sources,
        and its ``meta.operation`` names each view version (training on it records all of this)."""
        frame, parents, operation = self._join(entities, features, timestamp)
        return lineage.derive(self.stores, frame, name, parents, operation)

    def join_to_file(self, entities: Entities, features: Sequence[str], path: str | Path, *,
                     timestamp: str | None = None) -> int:
        """The join written to ``path`` (Parquet or CSV by suffix); returns the number of rows."""
        target = Path(path)
        reader = readers.reader_for(target)
        frame = self.join(entities, features, timestamp=timestamp)
        reader.write(frame, target)
        return len(frame)

    # online
    def materialize(self, view: str, *, at: Any = None) -> dict[str, Any]:
        """Write each entity's feature values as of ``at`` (default now) to the online store, computed by the
        same point-in-time join as training; entities with no value within the TTL are removed."""
        found = catalog.discover(self.root)
        definition = self._view(view, found)
        version, _, rows = self._record(definition, found[view][1])
        when = _instant(at)
        keys = rows[list(definition.keys)].dropna().drop_duplicates().reset_index(drop=True)
        entity_frame = keys.assign(**{_AT: when})
        joined = offline.join(entity_frame, _AT, [offline.ViewInput(definition, rows, definition.select(None))])
        hits = joined[joined[f"{view}{offline.FOUND_SUFFIX}"]]
        names = definition.feature_names
        key_values = hits[list(definition.keys)].itertuples(index=False, name=None)
        feature_values = hits[names].to_dict("records")
        with self._online() as store:
            written = store.replace(view, zip(key_values, feature_values, strict=True))
        note = {"at": when.isoformat(), "entities": len(keys), "written": written,
                "store": self.config.features.online_store, "done_at": time.time()}
        self.stores.features.note_materialized(view, version.version, note)
        return {"view": view, "version": version.ref, **note}

    def get(self, view: str, keys: Sequence[Sequence[Any]]) -> builtins.list[dict[str, Any] | None]:
        """The materialised values of each entity key (a tuple of the view's key values), None where absent."""
        definition = self._view(view, catalog.discover(self.root))
        for key in keys:
            if len(key) != len(definition.keys):
                raise BadInputError(f"Feature view {view!r} has {len(definition.keys)} key column(s) "
                                    f"({', '.join(definition.keys)}), got {len(key)} value(s): {list(key)!r}.",
                                    field="key", hint="Give one value per key column, comma-separated.")
        with self._online() as store:
            return store.get(view, keys)

    def online_features(self, entity_rows: Sequence[Mapping[str, Any]], features: Sequence[str] | None = None
                        ) -> builtins.list[dict[str, Any]]:
        """Entity rows (dicts holding the views' keys) with the online values of ``features`` (``VIEW`` or
        ``VIEW:col,...``; default every declared view) and ``<view>__found``: the columns a feature join gives
        training."""
        found = catalog.discover(self.root)
        selected = self._selection(list(found) if features is None else features, found)
        with self._online() as store:
            return join_online(store, selected, entity_rows)

    # internals
    def _online(self) -> OnlineStore:
        section = self.config.features
        url = section.online_url or str(Path(STATE_DIR) / "online.db")
        if section.online_store in ("sqlite", "memory") and not Path(url).is_absolute():
            url = str(self.root / url.removeprefix("sqlite:///"))
        return open_online_store(section.online_store, url, namespace=self.config.name or self.root.name)

    def _view(self, name: str, found: dict[str, tuple[FeatureView, str]]) -> FeatureView:
        if name not in found:
            raise NotFoundError.for_name("feature view", name, found).with_field("view")
        return found[name][0]

    def _record(self, view: FeatureView, origin: str) -> tuple[FeatureViewVersion, bool, pd.DataFrame]:
        source = datasets.resolve(self.stores, view.source)
        data = datasets.load_table(self.stores, source) if view.sql else datasets.load_frame(self.stores, source)
        rows = offline.source_rows(view, data, source.ref)
        definition_hash = view.definition_hash()
        source_ref = lineage.full_ref(source)
        record = FeatureViewVersion(view=view.name, version=catalog.version_id(definition_hash, source_ref),
                             definition_hash=definition_hash, source=source_ref, definition=view.to_dict(),
                             origin=origin)
        stored, created = self.stores.features.add(record)
        return stored, created, rows

    def _selection(self, features: Sequence[str], found: dict[str, tuple[FeatureView, str]]
                   ) -> builtins.list[tuple[FeatureView, builtins.list[Feature]]]:
        if not features:
            raise BadInputError("No feature view to join.", field="features",
                                hint="Pass --features VIEW (or VIEW:col,col), once per view.")
        out: builtins.list[tuple[FeatureView, builtins.list[Feature]]] = []
        for spec in features:
            name, _, columns = spec.partition(":")
            view = self._view(name, found)
            if any(v.name == name for v, _ in out):
                raise BadInputError(f"Feature view {name!r} is named twice.", field="features",
                                    hint="Name each view once, with the columns you want: VIEW:a,b.")
            out.append((view, view.select([c.strip() for c in columns.split(",") if c.strip()])))
        return out

    def _join(self, entities: Entities, features: Sequence[str], timestamp: str | None
              ) -> tuple[pd.DataFrame, builtins.list[DatasetVersion], dict[str, Any]]:
        found = catalog.discover(self.root)
        selected = self._selection(features, found)
        frame, parent = self._entities(entities)
        time_column = timestamp or selected[0][0].timestamp
        inputs, described, parents = [], [], [parent] if parent else []
        for view, chosen in selected:
            version, _, rows = self._record(view, found[view.name][1])
            inputs.append(offline.ViewInput(view, rows, chosen))
            described.append({"view": view.name, "version": version.version, "definition_hash":
                              version.definition_hash, "source": version.source,
                              "features": [f.name for f in chosen]})
            source = datasets.resolve(self.stores, version.source)
            if all(p.version != source.version or p.name != source.name for p in parents):
                parents.append(source)
        joined = offline.join(frame, time_column, inputs)
        operation = {"op": "feature_join", "timestamp": time_column, "views": described,
                     "entities": lineage.full_ref(parent) if parent else "file"}
        return joined, parents, operation

    def _entities(self, entities: Entities) -> tuple[pd.DataFrame, DatasetVersion | None]:
        if isinstance(entities, pd.DataFrame):
            return entities, None
        if isinstance(entities, Path) or Path(entities).is_file():
            return readers.read_file(entities), None
        version = datasets.resolve(self.stores, entities)
        return datasets.load_frame(self.stores, version), version


_AT = "__feature_time__"


def _instant(at: Any) -> pd.Timestamp:
    """``at`` as a UTC time without a zone (how the join compares times); now when None."""
    if at is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None)
    nanos, valid = to_nanos(pd.Series([at]), "at")
    if not valid[0]:
        raise BadInputError(f"Invalid time {at!r} for --at.", field="at", hint="Write an ISO 8601 time.")
    return pd.Timestamp(int(nanos[0]))


def online_features(project: ProjectState, entity_rows: Sequence[Mapping[str, Any]],
                    features: Sequence[str] | None = None) -> builtins.list[dict[str, Any]]:
    """Online features for entity-key-only rows: the same
    columns, names and ``<view>__found`` flags as the offline join that trained the model (``features``: the
    ``VIEW[:col,...]`` specs of that join, recorded in the training dataset's ``meta.operation``; default every
    declared view)."""
    return LocalFeatures(project).online_features(entity_rows, features)


def online_store_opener(project: ProjectState) -> Callable[[], OnlineStore]:
    """Opens the project's online store (features.online_store) when called: what ``serve`` uses for a model
    whose lineage names feature views (:mod:`conveyor.serve.features`)."""
    return LocalFeatures(project)._online
