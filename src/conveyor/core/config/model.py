"""The whole of conveyor.yaml as one validated, typed object.

    config = ProjectConfig.load(root / "conveyor.yaml")
    config.train.budget            # 60.0 (seconds), checked and converted
    config.monitor.window          # 1000
    config.section(TrainSection)   # the same, typed for mypy

Every section exists (with its defaults) whether the file names it or not. Keys that moved warn once per load
with :class:`ConfigDeprecationWarning` and are read at their new home for one release.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from conveyor.core.config.constraints import PROJECT_FILE, Constraint, Nested, invalid, unknown_key
from conveyor.core.config.registry import SECTIONS, builtin_sections
from conveyor.core.config.section import Section
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.refs import check_name

S = TypeVar("S", bound=Section)
REMOVED_IN = "0.3"


class ConfigDeprecationWarning(FutureWarning):
    """A key of conveyor.yaml that moved: still read, at its new home, until it is removed."""


def legacy_keys(sections: list[type[Section]] | None = None) -> dict[str, str]:
    """Old dotted key -> its new home, from the ``old=`` of every setting (sub-sections included)."""
    found: dict[str, str] = {}

    def walk(section: type[Section], prefix: str) -> None:
        for spec in section.specs():
            path = f"{prefix}.{spec.key}"
            for old in spec.old:
                found[old] = path
            inner: Constraint = spec.constraint
            if isinstance(inner, Nested):
                walk(inner.section, path)

    for section in sections if sections is not None else builtin_sections():
        walk(section, section.section)
    return found


@dataclass(frozen=True)
class ProjectConfig:
    """conveyor.yaml, checked: ``name``, every section by its key, the file's own mapping in ``raw`` (written
    back by :meth:`with_values`) and the deprecation notes of this load."""

    name: str | None
    sections: dict[str, Section]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()

    # reading
    @classmethod
    def load(cls, path: Path) -> ProjectConfig:
        """The project file at ``path`` (an absent file is an empty one)."""
        raw: Any = {}
        if path.is_file():
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise BadInputError(f"{path} is not valid YAML: {exc}", field=PROJECT_FILE,
                                    hint="Fix the file's syntax (indentation, colons, quotes).") from None
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: Any, *, warn: bool = True) -> ProjectConfig:
        """Check and convert a mapping as read from conveyor.yaml; BadInputError naming ``section.key`` on the
        first mistake. Moved keys are read at their new home with a ConfigDeprecationWarning."""
        if not isinstance(raw, dict):
            raise invalid(PROJECT_FILE, raw, "a mapping of sections", example="{name: churn, train: {budget: 60s}}")
        builtins = builtin_sections()
        moved, notes = _move_legacy(raw, legacy_keys(builtins))
        if warn:
            for note in notes:
                warnings.warn(note, ConfigDeprecationWarning, stacklevel=3)
        name = moved.pop("name", None)
        if name is not None:
            try:
                check_name(name, "project name")
            except BadInputError:
                raise invalid("name", name, "1-128 letters, digits, '_', '.' or '-'", example="churn") from None
        known = {section.section: section for section in builtins}
        for key in moved:
            if key not in known:
                known[key] = _plugin_section(key, ["name", *known])
        parsed = {key: section.parse(moved.get(key), key) for key, section in known.items()}
        return cls(name, parsed, copy.deepcopy(raw), tuple(notes))

    def __getattr__(self, key: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if key in sections:
            return sections[key]
        raise AttributeError(f"conveyor.yaml has no section {key!r}")

    def section(self, kind: type[S]) -> S:
        """The section of type ``kind``, typed (``config.section(MonitorSection).window``)."""
        found = self.sections[kind.section]
        if not isinstance(found, kind):
            raise TypeError(f"section {kind.section!r} is a {type(found).__name__}, not a {kind.__name__}")
        return found

    # writing
    def with_values(self, section: str, values: dict[str, Any]) -> ProjectConfig:
        """A copy with ``section.key = value`` for each of ``values``, checked as the whole file is (so a typo is
        refused before it is written)."""
        raw = copy.deepcopy(self.raw)
        if section == "name":
            raise invalid("name", values, "set with Project.init", example="churn")
        current = raw.get(section)
        if current is not None and not isinstance(current, dict):
            raise invalid(section, current, "a mapping of settings")
        raw[section] = {**(current or {}), **values}
        return ProjectConfig.parse(raw)

    def dump(self) -> str:
        """The file's text, as the user wrote it plus what was configured (defaults are not written out)."""
        text: str = yaml.safe_dump(self.raw, sort_keys=False)
        return text

    def to_dict(self) -> dict[str, Any]:
        """Every setting, converted, defaults included (what the project runs with)."""
        return {"name": self.name, **{key: section.to_dict() for key, section in self.sections.items()}}


def _plugin_section(key: str, known: list[str]) -> type[Section]:
    try:
        return SECTIONS.get(key)
    except NotFoundError:
        raise unknown_key(key, known) from None


def _move_legacy(raw: dict[str, Any], legacy: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with every old key moved to its new home (a new key that is set wins), and one note per old key."""
    moved = copy.deepcopy(raw)
    notes = []
    roots = {old.partition(".")[0] for old in legacy}
    for old, new in legacy.items():
        found, value = _pop(moved, old)
        if not found:
            continue
        if _has(moved, new):
            notes.append(f"{PROJECT_FILE}: {old} is deprecated and ignored, since {new} is set. Remove {old}.")
            continue
        _put(moved, new, value)
        notes.append(f"{PROJECT_FILE}: {old} is deprecated; write {new} instead ({old} stops working in "
                     f"{REMOVED_IN}).")
    section_keys = {section.section for section in builtin_sections()}
    for root in sorted(roots - section_keys):  # a section that only held old keys, such as policy:
        if root not in moved:
            continue
        rest = moved.pop(root)
        if rest not in (None, {}):
            olds = [old.partition(".")[2] for old in legacy if old.startswith(f"{root}.")]
            if not isinstance(rest, dict):
                raise invalid(root, rest, "a mapping of settings")
            raise unknown_key(f"{root}.{next(iter(rest))}", olds)
    return moved, notes


def _pop(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    *parents, last = path.split(".")
    for part in parents:
        data = data.get(part) if isinstance(data, dict) else None  # type: ignore[assignment]
        if not isinstance(data, dict):
            return False, None
    if last not in data:
        return False, None
    return True, data.pop(last)


def _has(data: dict[str, Any], path: str) -> bool:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return True


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        if data.get(part) is None:
            data[part] = {}
        elif not isinstance(data[part], dict):
            return  # the section reports its own shape
        data = data[part]
    data[last] = value

