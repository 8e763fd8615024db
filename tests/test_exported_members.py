"""In the style of httpx's tests/test_exported_members.py: `conveyor.__all__` is exactly the public members the
package gives, sorted, and each lazily exported name is what its module defines."""

from __future__ import annotations

from types import ModuleType

import conveyor


def public_members() -> set[str]:
    for name in conveyor.__all__:
        getattr(conveyor, name)  # lazy exports (PEP 562) land in the module's namespace once used
    return {name for name, value in vars(conveyor).items()
            if not name.startswith("_") and not isinstance(value, ModuleType)  # subpackages are not members
            and getattr(value, "__module__", "").startswith("conveyor")}


def test_all_exports_are_the_public_members_sorted():
    assert conveyor.__all__ == sorted(public_members() | {"__version__"})
    assert dir(conveyor) == conveyor.__all__


def test_each_export_comes_from_the_module_it_names():
    for name, module in conveyor._EXPORTS.items():
        value = getattr(conveyor, name)
        home = module.partition(":")[0]
        assert value.__module__ == home or value.__module__.startswith(f"{home}."), name
        assert name in conveyor.__all__
