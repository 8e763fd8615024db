"""Registries that turn a type string (a flavor, a family, a drift test, a store URL scheme ...) into an object.

One :class:`Registry` per extension point. Built-ins register themselves, lazily where the object lives in a module
with heavy imports (``registry.register_lazy("xgboost", "conveyor.registry.flavors.xgboost:FLAVOR")``). Other
packages add entries through the entry-point group of the same name (``conveyor.<kind>``, for example
``conveyor.notifiers``), declared in their ``pyproject.toml``::

    [project.entry-points."conveyor.notifiers"]
    pager = "my_package.notify:PagerNotifier"

Entry points are read on the first lookup that misses, so a registry costs nothing until a name outside the
built-ins is asked for. A plug-in that fails to load is reported when it is asked for, naming the package, never
while an unrelated name is looked up.

Unknown names raise :class:`~conveyor.core.errors.NotFoundError` with "did you mean", naming the config ``field``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from importlib import import_module, metadata
from typing import Generic, TypeVar

from conveyor.core.errors import BadInputError, ConflictError, MissingDependencyError, NotFoundError

T = TypeVar("T")

ENTRY_POINT_PREFIX = "conveyor."


def load_object(target: str) -> object:
    """The object named by ``"package.module:attribute"`` (dots after the colon walk attributes)."""
    module_name, _, attribute = target.partition(":")
    value: object = import_module(module_name)
    for part in filter(None, attribute.split(".")):
        value = getattr(value, part)
    return value


class Registry(Generic[T]):
    """Names to objects of one extension point, with lazy built-ins and entry-point plug-ins.

    ``kind`` is what a user reads in messages ("model family"); ``group`` is the entry-point group
    (``conveyor.families``); ``field`` names where a user typed the name (``train.families``).
    ``check``, when given, validates each object as it is first resolved (raise to refuse it).
    """

    def __init__(self, kind: str, group: str, *, field: str | None = None,
                 check: Callable[[str, T], None] | None = None) -> None:
        if not group.startswith(ENTRY_POINT_PREFIX):
            raise ValueError(f"entry-point group {group!r} must start with {ENTRY_POINT_PREFIX!r}")
        self.kind = kind
        self.group = group
        self.field = field or kind
        self._check = check
        self._loaded: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._origin: dict[str, str] = {}  # also the registration order: resolving a lazy entry keeps its place
        self._entry_points_read = False
        self._lock = threading.RLock()

    # registration
    def register(self, name: str, value: T, *, replace: bool = False, origin: str = "conveyor") -> T:
        with self._lock:
            self._refuse_duplicate(name, replace)
            self._lazy.pop(name, None)
            self._loaded[name] = value
            self._origin[name] = origin
        return value

    def register_lazy(self, name: str, target: str, *, replace: bool = False, origin: str = "conveyor") -> None:
        """Register ``"module:attribute"``, imported on first use (keeps heavy imports off start-up)."""
        with self._lock:
            self._refuse_duplicate(name, replace)
            self._loaded.pop(name, None)
            self._lazy[name] = target
            self._origin[name] = origin

    def decorator(self, name: str, *, replace: bool = False) -> Callable[[T], T]:
        """``@REGISTRY.decorator("name")`` on a class or function registers it under ``name``."""
        def wrap(value: T) -> T:
            return self.register(name, value, replace=replace)
        return wrap

    def unregister(self, name: str) -> None:
        with self._lock:
            self._loaded.pop(name, None)
            self._lazy.pop(name, None)
            self._origin.pop(name, None)

    # lookup
    def get(self, name: str) -> T:
        with self._lock:
            if name not in self._loaded and name not in self._lazy:
                self._read_entry_points()
            if name in self._loaded:
                return self._loaded[name]
            if name in self._lazy:
                return self._resolve(name)
        raise NotFoundError.for_name(self.kind, str(name), self.names()).with_field(self.field)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def names(self) -> list[str]:
        """Every registered name, plug-ins included, in registration order."""
        with self._lock:
            self._read_entry_points()
            return list(self._origin)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self.get(name)

    def origin(self, name: str) -> str:
        """Who registered ``name``: ``conveyor`` for built-ins, the distribution's name for plug-ins."""
        self.get(name)
        return self._origin[name]

    def check_name(self, name: str) -> str:
        """``name`` if registered (without importing it), else NotFoundError with "did you mean"."""
        if name in self.names():
            return name
        raise NotFoundError.for_name(self.kind, str(name), self.names()).with_field(self.field)

    # internals
    def _refuse_duplicate(self, name: str, replace: bool) -> None:
        if not replace and (name in self._loaded or name in self._lazy):
            raise ConflictError(f"{self.kind.capitalize()} {name!r} is already registered by "
                                f"{self._origin.get(name, 'conveyor')}.", field=self.field,
                                hint="Pick another name, or pass replace=True to override it on purpose.")

    def _resolve(self, name: str) -> T:
        target = self._lazy[name]
        try:
            value = load_object(target)
        except MissingDependencyError:
            raise
        except ImportError as exc:
            raise BadInputError(f"The {self.kind} {name!r} ({target}) could not be imported: {exc}.",
                                field=self.field, hint=f"Reinstall {self._origin[name]}, or remove it.") from None
        except AttributeError as exc:
            raise BadInputError(f"The {self.kind} {name!r} points at {target}, which does not exist: {exc}.",
                                field=self.field, hint=f"Fix the entry point of {self._origin[name]}.") from None
        if self._check is not None:
            self._check(name, value)  # type: ignore[arg-type]
        del self._lazy[name]
        self._loaded[name] = value  # type: ignore[assignment]
        return value  # type: ignore[return-value]

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for entry in metadata.entry_points(group=self.group):
            if entry.name in self._loaded or entry.name in self._lazy:
                continue  # built-ins win; a plug-in overrides one only by registering with replace=True
            origin = entry.dist.name if entry.dist is not None else entry.value
            self._lazy[entry.name] = entry.value
            self._origin[entry.name] = origin

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, group={self.group!r}, {len(self._loaded) + len(self._lazy)} entries)"
