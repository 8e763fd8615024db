"""Feature views: entity key(s), an event-time column, a TTL and the features read from a source dataset.

A view is declared in ``features/*.yaml`` (:func:`view_from_dict`) or in Python (:class:`FeatureView`, or the
:func:`feature_view` decorator on a function that derives columns from the source frame); instead of a function,
``sql`` derives the rows with DuckDB (:mod:`conveyor.features.sql`). Its identity is the
hash of its definition (the transform's source code included) plus the version of the dataset it reads, so a
training frame records exactly which features it was built from.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from conveyor.core.durations import format_duration, parse_duration
from conveyor.core.errors import BadInputError
from conveyor.core.refs import check_name
from conveyor.store.hashing import digest_bytes

AGGREGATIONS = ("sum", "count", "mean")
Transform = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Feature:
    """One output column. Without ``agg``: the latest value of ``column`` at or before the entity row's time.
    With ``agg`` (sum, count, mean) and ``window``: the aggregate of ``column`` over the source rows of the same
    entity whose time is in ``(t - window, t]``."""

    name: str
    column: str | None = None
    agg: str | None = None
    window: float | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "feature name")
        if self.column is None:
            object.__setattr__(self, "column", self.name)
        if self.agg is not None and self.agg not in AGGREGATIONS:
            raise BadInputError(f"Feature {self.name!r}: unknown agg {self.agg!r}.", field=f"{self.name}.agg",
                                hint=f"Use one of {', '.join(AGGREGATIONS)}, or leave agg out for the latest "
                                     "value.")
        if (self.agg is None) != (self.window is None):
            raise BadInputError(f"Feature {self.name!r}: agg and window go together.", field=f"{self.name}.window",
                                hint="Write {agg: sum, window: 7d}, or neither for the latest value.")
        if self.window is not None:
            object.__setattr__(self, "window", parse_duration(self.window, f"{self.name}.window", allow_zero=False))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "column": self.column}
        if self.agg is not None and self.window is not None:
            out.update(agg=self.agg, window=format_duration(self.window))
        return out


@dataclass(frozen=True)
class FeatureView:
    """A named group of features of one entity, read from dataset ``source`` (``NAME`` for its latest version,
    ``NAME@VERSION`` pinned). ``ttl`` (seconds or "30d"; None: no limit) bounds how old a value may be."""

    name: str
    source: str
    entity: str | Sequence[str]
    timestamp: str
    features: Sequence[Feature | dict[str, Any] | str]
    ttl: float | str | None = None
    transform: Transform | None = field(default=None, compare=False)
    description: str = ""
    sql: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "feature view name")
        if self.sql is not None:
            if not isinstance(self.sql, str) or not self.sql.strip():
                raise BadInputError(f"Feature view {self.name!r}: sql must be a non-empty query.",
                                    field=f"{self.name}.sql", hint="Write sql: SELECT ... FROM source.")
            if self.transform is not None:
                raise BadInputError(f"Feature view {self.name!r} has both a transform and sql.",
                                    field=f"{self.name}.sql", hint="Derive the rows one way: a function or SQL.")
        entity = [self.entity] if isinstance(self.entity, str) else list(self.entity)
        if not entity:
            raise BadInputError(f"Feature view {self.name!r} has no entity key.", field=f"{self.name}.entity",
                                hint="Name the key column(s): entity: customer_id.")
        object.__setattr__(self, "entity", tuple(entity))
        feats = tuple(_feature(f, self.name) for f in self.features)
        if not feats:
            raise BadInputError(f"Feature view {self.name!r} has no features.", field=f"{self.name}.features",
                                hint="List at least one: features: [{name: amount_last, column: amount}].")
        names = [f.name for f in feats]
        clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & {*entity, self.timestamp}))
        if clash:
            raise BadInputError(f"Feature view {self.name!r}: feature name {clash[0]!r} is used twice (or is a "
                                "key or the timestamp).", field=f"{self.name}.features",
                                hint="Give each feature its own name.")
        object.__setattr__(self, "features", feats)
        if self.ttl is not None:
            object.__setattr__(self, "ttl", parse_duration(self.ttl, f"{self.name}.ttl", allow_zero=False))

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.entity)

    @property
    def source_name(self) -> str:
        return self.source.partition("@")[0]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]  # type: ignore[union-attr]

    def select(self, columns: Sequence[str] | None) -> list[Feature]:
        """The features named in ``columns`` (all when None), in the view's order; unknown names refused."""
        feats: list[Feature] = list(self.features)  # type: ignore[arg-type]
        if not columns:
            return feats
        known = {f.name: f for f in feats}
        for name in columns:
            if name not in known:
                raise BadInputError(f"Feature view {self.name!r} has no feature {name!r}.", field="features",
                                    hint=f"Its features: {', '.join(known)}.")
        return [f for f in feats if f.name in columns]

    def to_dict(self) -> dict[str, Any]:
        """The definition as YAML would hold it, plus the transform's qualified name."""
        out: dict[str, Any] = {"name": self.name, "source": self.source,
                               "entity": self.keys[0] if len(self.keys) == 1 else list(self.keys),
                               "timestamp": self.timestamp,
                               "ttl": format_duration(float(self.ttl)) if self.ttl is not None else None,
                               "features": [f.to_dict() for f in self.features]}  # type: ignore[union-attr]
        if self.transform is not None:
            out["transform"] = f"{self.transform.__module__}:{self.transform.__qualname__}"
        if self.sql is not None:
            out["sql"] = self.sql
        if self.description:
            out["description"] = self.description
        return out

    def definition_hash(self) -> str:
        """A hash of everything that decides the values: the definition (without a pinned source version, which
        is recorded beside it) and the transform's source code."""
        document = {**self.to_dict(), "source": self.source_name, "description": None}
        if self.transform is not None:
            document["transform_code"] = _source_of(self.transform)
        return digest_bytes(json.dumps(document, sort_keys=True).encode())


def _source_of(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        return code.co_code.hex() if code is not None else repr(function)


def _feature(value: Feature | dict[str, Any] | str, view: str) -> Feature:
    if isinstance(value, Feature):
        return value
    if isinstance(value, str):
        return Feature(value)
    if not isinstance(value, dict) or "name" not in value:
        raise BadInputError(f"Feature view {view!r}: a feature must be a mapping with a name, got {value!r}.",
                            field=f"{view}.features", hint="Write {name: amount_last, column: amount}.")
    unknown = set(value) - {"name", "column", "agg", "window"}
    if unknown:
        raise BadInputError(f"Feature view {view!r}: unknown feature key {sorted(unknown)[0]!r}.",
                            field=f"{view}.features", hint="Keys: name, column, agg, window.")
    return Feature(**value)


VIEW_KEYS = {"name", "source", "entity", "timestamp", "ttl", "features", "description", "sql"}


def view_from_dict(document: Any, origin: str) -> FeatureView:
    """A view from a parsed YAML document; BadInputError naming ``origin`` (the file) on a mistake."""
    if not isinstance(document, dict):
        raise BadInputError(f"{origin}: a feature view must be a mapping, got {type(document).__name__}.",
                            field=origin, hint="See docs/features.md for the shape.")
    missing = [k for k in ("name", "source", "entity", "timestamp", "features") if k not in document]
    if missing:
        raise BadInputError(f"{origin}: the feature view has no {missing[0]!r}.", field=f"{origin}:{missing[0]}",
                            hint="A view needs name, source, entity, timestamp and features.")
    unknown = set(document) - VIEW_KEYS
    if unknown:
        raise BadInputError(f"{origin}: unknown key {sorted(unknown)[0]!r}.", field=origin,
                            hint=f"Keys: {', '.join(sorted(VIEW_KEYS))}.")
    try:
        return FeatureView(**document)
    except BadInputError as exc:
        raise BadInputError(f"{origin}: {exc.message}", field=exc.field, hint=exc.hint) from None
    except TypeError as exc:
        raise BadInputError(f"{origin}: {exc}", field=origin, hint="See docs/features.md for the shape.") from None


def feature_view(*, name: str | None = None, source: str, entity: str | Sequence[str], timestamp: str,
                 features: Sequence[Feature | dict[str, Any] | str], ttl: float | str | None = None
                 ) -> Callable[[Transform], FeatureView]:
    """Decorate a function ``frame -> frame`` (it derives the feature columns from the source dataset) to make
    it a :class:`FeatureView` named after the function unless ``name`` is given."""
    def wrap(function: Transform) -> FeatureView:
        return FeatureView(name=name or function.__name__, source=source, entity=entity, timestamp=timestamp,
                           features=features, ttl=ttl, transform=function,
                           description=(function.__doc__ or "").strip())
    return wrap
