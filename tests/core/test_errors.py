"""The one exception tree: every ConveyorError subclass in the package appears in core/errors.py's documented tree,
under its real parent, with the codes it documents."""

from __future__ import annotations

import importlib
import pkgutil
import re

import conveyor
from conveyor.core import errors
from conveyor.core.errors import ConveyorError

_NODE = re.compile(r"^(?P<indent>[ │]*)[├└]── (?P<name>\w+)")


def documented_tree() -> dict[str, str]:
    """class name -> parent name, read from the docstring's box drawing."""
    text = errors.__doc__ or ""
    lines = text[text.index("    ConveyorError\n"):].splitlines()
    parents: dict[str, str] = {}
    stack = ["ConveyorError"]  # stack[d] is the latest node at depth d
    for line in lines[1:]:
        match = _NODE.match(line[4:])
        if match is None:
            if line.strip() and not line.strip().startswith("│"):
                break  # the end of the tree
            continue
        depth = len(match["indent"]) // 4 + 1
        del stack[depth:]
        parents[match["name"]] = stack[depth - 1]
        stack.append(match["name"])
    return parents


def every_subclass() -> dict[str, type]:
    for module in pkgutil.walk_packages(conveyor.__path__, "conveyor."):
        if ".migrations" not in module.name:  # Alembic's env.py runs a migration when imported
            importlib.import_module(module.name)
    found: dict[str, type] = {}
    pending = [ConveyorError]
    while pending:
        for sub in pending.pop().__subclasses__():
            found[sub.__name__] = sub
            pending.append(sub)
    return found


def test_every_conveyor_error_is_in_the_documented_tree_under_its_parent():
    tree = documented_tree()
    assert {"BadInputError", "StoreError", "MissingDependencyError"} <= set(tree)  # the parser read the tree
    classes = every_subclass()
    missing = sorted(set(classes) - set(tree))
    assert missing == [], f"add these to the tree in conveyor/core/errors.py: {missing}"
    assert sorted(set(tree) - set(classes)) == [], "the tree names classes that no longer exist"
    for name, cls in classes.items():
        parent = next(b for b in cls.__bases__ if issubclass(b, ConveyorError))
        assert tree[name] == parent.__name__, f"{name} is documented under {tree[name]}, defined under {parent}"


def test_documented_codes_match_the_classes():
    doc = errors.__doc__ or ""
    classes = every_subclass()
    for name, cls in classes.items():
        line = next(line for line in doc.splitlines() if re.search(rf"── {name}\b", line))
        if (status := re.search(r"HTTP (\d{3})", line)) is not None:
            assert cls.http_status == int(status[1]), name
        if (code := re.search(r"exit (\d)", line)) is not None:
            assert cls.exit_code == int(code[1]), name
