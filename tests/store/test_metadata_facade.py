"""The deprecated ``stores.metadata`` facade forwards every old method to its role, arguments untouched."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from conveyor.store import Stores
from conveyor.store.metadata import FORWARDS, InMemoryMetadataStore, MetadataStore
from conveyor.store.roles import ROLE_NAMES, MetadataRoles
from conveyor.testing.store_records import dataset, run

ROLE_CLASSES = {name: MetadataRoles.__dataclass_fields__[name].type for name in ROLE_NAMES}


class Recorder:
    """A stand-in role: records each call and answers a marker."""

    def __init__(self, role: str, calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]]) -> None:
        self.role, self.calls = role, calls

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> str:
            self.calls.append((self.role, method, args, kwargs))
            return f"answer of {self.role}.{method}"
        return call


class RecordingRoles:
    url = "recording://"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
        for role in ROLE_NAMES:
            setattr(self, role, Recorder(role, self.calls))

    def close(self) -> None:
        self.calls.append(("roles", "close", (), {}))


def test_every_public_method_of_the_facade_is_in_the_table() -> None:
    public = {name for name, _ in inspect.getmembers(MetadataStore, inspect.isfunction) if not name.startswith("_")}
    assert public - {"close"} == set(FORWARDS)
    assert len(FORWARDS) == 38


@pytest.mark.parametrize(("old", "target"), sorted(FORWARDS.items()))
def test_the_target_exists_on_the_role_interface(old: str, target: tuple[str, str]) -> None:
    role, method = target
    import conveyor.store as store

    interface = getattr(store, str(ROLE_CLASSES[role]))
    assert callable(getattr(interface, method)), f"{old} -> {role}.{method}"


@pytest.mark.parametrize(("old", "target"), sorted(FORWARDS.items()))
def test_each_old_method_forwards_its_arguments(old: str, target: tuple[str, str]) -> None:
    roles = RecordingRoles()
    facade = MetadataStore(roles)  # type: ignore[arg-type]
    args: list[object] = []
    kwargs: dict[str, object] = {}
    sentinels: list[object] = []
    for parameter in list(inspect.signature(getattr(MetadataStore, old)).parameters.values())[1:]:
        marker = object()
        sentinels.append(marker)
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = marker
        else:
            args.append(marker)
    returns_nothing = inspect.signature(getattr(MetadataStore, old)).return_annotation == "None"
    answer = getattr(facade, old)(*args, **kwargs)
    ((role, method, got_args, got_kwargs),) = roles.calls
    assert (role, method) == target
    passed = [*got_args, *got_kwargs.values()]
    assert len(passed) == len(sentinels) and all(any(p is s for p in passed) for s in sentinels)
    assert answer == (None if returns_nothing else f"answer of {role}.{method}")


def test_close_and_url_come_from_the_roles() -> None:
    roles = RecordingRoles()
    facade = MetadataStore(roles)  # type: ignore[arg-type]
    assert facade.url == "recording://"
    facade.close()
    assert roles.calls == [("roles", "close", (), {})]


def test_the_facade_and_the_roles_see_the_same_records() -> None:
    stores = Stores.in_memory()
    stores.metadata.add_dataset_version(dataset())
    r = stores.runs.create(run())
    assert [v.name for v in stores.datasets.versions()] == ["iris"]
    assert stores.metadata.get_run(r.id[:6]).id == r.id
    legacy = InMemoryMetadataStore()
    legacy.create_run(run("abcdef"))
    assert legacy.list_runs()[0].id == "abcdef"
