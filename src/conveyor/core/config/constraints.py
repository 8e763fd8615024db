"""Constraints on settings, declared as data (in the spirit of scikit-learn's ``_param_validation``).

Each constraint checks one value and converts it (``"2h"`` -> ``7200.0``), and describes itself in words for
messages and for docs/configuration.md. Every refusal goes through :func:`invalid`, so each bad value in
conveyor.yaml reads the same way: the key, the value, what was expected and how to fix it::

    train.workers must be a whole number of at least 1, got 'two'. Fix train.workers in conveyor.yaml, for
    example `workers: 4`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from conveyor.core.durations import EXAMPLES as DURATION_EXAMPLES
from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError

if TYPE_CHECKING:
    from conveyor.core.config.section import Section

PROJECT_FILE = "conveyor.yaml"


def leaf(key: str) -> str:
    """``alerts.rules[0].for`` -> ``for``: the name a user writes in the file."""
    return re.split(r"[.\]]", key.rstrip("]"))[-1].split("[")[0] or key


def invalid(key: str, value: Any, expected: str, *, example: str | None = None,
            suggestion: str | None = None) -> BadInputError:
    """The one message for a bad value: names ``key``, the value, what is expected and the fix."""
    hint = f"Did you mean {suggestion!r}? " if suggestion else ""
    where = PROJECT_FILE if key == PROJECT_FILE else f"{key} in {PROJECT_FILE}"
    hint += f"Fix {where}" + (f", for example `{leaf(key)}: {example}`." if example and key != PROJECT_FILE
                              else f", for example `{example}`." if example else ".")
    return BadInputError(f"{key} must be {expected}, got {value!r}.", field=key, hint=hint)


def unknown_key(key: str, known: Iterable[str]) -> BadInputError:
    """The one message for a key no section declares, with "did you mean"."""
    known = sorted(set(known))
    name = leaf(key)
    close = difflib.get_close_matches(name, known, n=1)
    parent = key[: -len(name) - 1] if key.endswith(name) and len(key) > len(name) else ""
    if close:
        hint = f"Did you mean {parent + '.' if parent else ''}{close[0]}?"
    else:
        hint = f"Known keys{' of ' + parent if parent else ''}: {', '.join(known)}."
    return BadInputError(f"Unknown key {key} in {PROJECT_FILE}.", field=key, hint=hint)


class Constraint:
    """Checks and converts one value. ``describe()`` is the noun phrase of messages and docs."""

    example: str | None = None

    def check(self, value: Any, key: str) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def fail(self, value: Any, key: str, suggestion: str | None = None) -> BadInputError:
        return invalid(key, value, self.describe(), example=self.example, suggestion=suggestion)


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'greater than' if low_open else 'of at least'} {low:g}"
    if high is not None:
        return f" {'less than' if high_open else 'of at most'} {high:g}"
    return ""


def _inside(number: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (number < low or (low_open and number == low)):
        return False
    return not (high is not None and (number > high or (high_open and number == high)))


class Integer(Constraint):
    def __init__(self, min: int | None = None, max: int | None = None, *, example: str | None = None) -> None:
        self.min, self.max, self.example = min, max, example

    def check(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not _inside(value, self.min, self.max, False,
                                                                               False):
            raise self.fail(value, key)
        return value

    def describe(self) -> str:
        return "a whole number" + _bounds(self.min, self.max, False, False)


class Number(Constraint):
    def __init__(self, min: float | None = None, max: float | None = None, *, min_open: bool = False,
                 max_open: bool = False, example: str | None = None) -> None:
        self.min, self.max, self.min_open, self.max_open, self.example = min, max, min_open, max_open, example

    def check(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not _inside(value, self.min, self.max, self.min_open, self.max_open):
            raise self.fail(value, key)
        return float(value)

    def describe(self) -> str:
        return "a number" + _bounds(self.min, self.max, self.min_open, self.max_open)


class Boolean(Constraint):
    example = "true"

    def check(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(value, key)
        return value

    def describe(self) -> str:
        return "true or false"


class Text(Constraint):
    """A non-empty string (a column, a metric, a URL, a shell command ...)."""

    def __init__(self, what: str = "a non-empty string", *, example: str | None = None) -> None:
        self.what, self.example = what, example

    def check(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(value, key)
        return value

    def describe(self) -> str:
        return self.what


class Name(Text):
    """The name of something a registry resolves (a family, a search, a drift test ...): a non-empty word. Whether
    it is registered is checked where it is looked up, by the registry, which names this key and lists the
    known names."""

    def __init__(self, what: str = "a name", *, example: str | None = None) -> None:
        super().__init__(what, example=example)

    def check(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*", value):
            raise self.fail(value, key)
        return value


class OneOf(Constraint):
    """One of a closed set of words; a near miss gets "did you mean"."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.example = choices[0]

    def check(self, value: Any, key: str) -> str:
        if value not in self.choices:
            close = difflib.get_close_matches(str(value), self.choices, n=1) if isinstance(value, str) else []
            raise self.fail(value, key, suggestion=close[0] if close else None)
        return str(value)

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


class Duration(Constraint):
    """A duration through :func:`conveyor.core.durations.parse_duration`; converts to seconds."""

    def __init__(self, *, positive: bool = False, example: str = "10m") -> None:
        self.positive, self.example = positive, example

    def check(self, value: Any, key: str) -> float:
        try:
            return parse_duration(value, key, allow_zero=not self.positive)
        except BadInputError:
            raise self.fail(value, key) from None

    def describe(self) -> str:
        return ("a positive" if self.positive else "a") + f" duration ({DURATION_EXAMPLES})"


class Url(Constraint):
    def __init__(self, *schemes: str, example: str = "http://127.0.0.1:9000/hook") -> None:
        self.schemes, self.example = schemes or ("http", "https"), example

    def check(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.startswith(tuple(f"{s}://" for s in self.schemes)):
            raise self.fail(value, key)
        return value

    def describe(self) -> str:
        return "a URL starting with " + " or ".join(f"{s}://" for s in self.schemes)


class ListOf(Constraint):
    """A list whose items meet ``item``; with ``single=True`` one bare item stands for a list of one."""

    def __init__(self, item: Constraint, *, single: bool = True, unique: bool = False,
                 example: str | None = None) -> None:
        self.item, self.single, self.unique, self.example = item, single, unique, example

    def check(self, value: Any, key: str) -> list[Any]:
        if self.single and isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple):
            raise self.fail(value, key)
        items = [self.item.check(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if self.unique and len(set(map(repr, items))) != len(items):
            raise invalid(key, value, "a list without repeats", example=self.example)
        return items

    def describe(self) -> str:
        return f"a list (each {self.item.describe()})"


class MapOf(Constraint):
    """A mapping of names to values that meet ``value``."""

    def __init__(self, value: Constraint, *, example: str | None = None) -> None:
        self.value, self.example = value, example

    def check(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail(value, key)
        return {k: self.value.check(v, f"{key}.{k}") for k, v in value.items()}

    def describe(self) -> str:
        return f"a mapping of names to values (each {self.value.describe()})"


class Nested(Constraint):
    """A mapping parsed as a sub-section (``retrain.rollback``); an empty or null value gets its defaults."""

    def __init__(self, section: type[Section]) -> None:
        self.section = section
        self.example = "{" + ", ".join(f"{s.key}: {s.shown_default}" for s in section.specs()
                                       if s.shown_default not in ("-", "null"))[:60] + "}"

    def check(self, value: Any, key: str) -> Section:
        return self.section.parse({} if value is None else value, key)

    def describe(self) -> str:
        return "a mapping with " + ", ".join(s.key for s in self.section.specs())

