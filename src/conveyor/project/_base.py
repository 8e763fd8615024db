"""What every sub-API of :class:`~conveyor.project.Project` shares: the descriptor that makes one, and the base
class of the local implementations (the project's stores, root and typed configuration)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

from conveyor.core.config import ProjectConfig
from conveyor.core.settings import Settings
from conveyor.store import Stores

T = TypeVar("T")


class ProjectState(Protocol):
    """What a local sub-API needs of its project (the Project satisfies it; the sub-APIs never import it)."""

    root: Path
    config: ProjectConfig
    stores: Stores
    settings: Settings


class SubAPI(Generic[T]):
    """``data: SubAPI[DataAPI] = SubAPI("conveyor.project.data:LocalData")`` in the Project class: ``project.data``
    is made on first use, once per project. The type parameter is the sub-API's Protocol, which a remote client
    implements as well. The factory is a class, or its ``"module:Class"`` name, imported on first use (so a server
    answers /health without pandas)."""

    def __init__(self, factory: Callable[[Any], T] | str) -> None:
        self.factory = factory
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, project: None, owner: type | None = None) -> SubAPI[T]: ...

    @overload
    def __get__(self, project: ProjectState, owner: type | None = None) -> T: ...

    def __get__(self, project: ProjectState | None, owner: type | None = None) -> Any:
        if project is None:
            return self
        factory = self.factory
        if isinstance(factory, str):
            module, _, name = factory.partition(":")
            factory = self.factory = getattr(import_module(module), name)
        api = factory(project)
        project.__dict__[self.name] = api  # a non-data descriptor: the instance's own attribute wins from now on
        return api


class LocalAPI:
    """Base of the sub-APIs that work on this machine's stores."""

    def __init__(self, project: ProjectState) -> None:
        self._project = project

    @property
    def stores(self) -> Stores:
        return self._project.stores

    @property
    def root(self) -> Path:
        return self._project.root

    @property
    def config(self) -> ProjectConfig:
        return self._project.config

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.root}>"


def write_page(path: str | Path, page: str) -> Path:
    """Write an HTML page atomically (a reader never sees half of it); returns its path."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
