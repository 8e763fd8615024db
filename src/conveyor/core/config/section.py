"""A section of conveyor.yaml: a frozen dataclass whose fields are declared with :func:`setting`.

    @dataclass(frozen=True, kw_only=True)
    class MonitorSection(Section):
        \"\"\"How `conveyor monitor` and the agent judge a window of predictions.\"\"\"

        section: ClassVar[str] = "monitor"
        window: int = setting(1000, Integer(min=1), doc="Logged predictions per check.",
                              old=("policy.window",))

Each setting carries its constraint, its documentation, the key users write (``key=`` when it is not a Python
name, as ``for``) and the keys it replaces (``old=``: read with a warning for one release). Parsing checks every
key (unknown keys get "did you mean"), converts every value, and fills defaults; ``null`` means "the default".
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from conveyor.core.config.constraints import Constraint, Nested, invalid, unknown_key

SPEC = "conveyor.setting"
S = TypeVar("S", bound="Section")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Spec:
    """What docs and the parser know about one setting."""

    key: str
    constraint: Constraint
    doc: str
    default: Any  # as a user would write it in the file (REQUIRED when there is none)
    old: tuple[str, ...] = ()
    attr: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def shown_default(self) -> str:
        return _yaml_text(self.default)


def _yaml_text(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def setting(default: Any, constraint: Constraint, *, doc: str, key: str | None = None,
            old: tuple[str, ...] = ()) -> Any:
    """A field of a :class:`Section`. ``default`` is written as in the file (``"60s"``) and converted by
    ``constraint`` like any value (the field's default is then ``60.0``); ``None`` means "not set"."""
    spec = Spec(key or "", constraint, " ".join(doc.split()), default, tuple(old))
    metadata = {SPEC: spec}
    if default is REQUIRED:
        return dataclasses.field(metadata=metadata)
    value = None if default is None else constraint.check(default, f"<default of {key or 'setting'}>")
    if isinstance(value, list | dict | Section):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(value), metadata=metadata)
    return dataclasses.field(default=value, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class Section:
    """Base of every section and sub-section of conveyor.yaml. Top-level sections set ``section`` (their key)."""

    section: ClassVar[str] = ""
    order: ClassVar[int] = 100  # place in docs/configuration.md
    # A section whose unknown keys belong to plug-ins (alerts.<notifier>) keeps them, unchecked, in ``extra``
    # (a field it declares); its validate() decides which are allowed.
    keeps_extra: ClassVar[bool] = False

    @classmethod
    def specs(cls) -> list[Spec]:
        found = []
        for item in dataclasses.fields(cls):
            spec = item.metadata.get(SPEC)
            if spec is not None:
                found.append(dataclasses.replace(spec, key=spec.key or item.name, attr=item.name))
        return found

    @classmethod
    def parse(cls: type[S], raw: Any, where: str) -> S:
        """The section from its mapping in the file; BadInputError naming ``where.key`` for any mistake."""
        raw = {} if raw is None else raw
        specs = {s.key: s for s in cls.specs()}
        if not isinstance(raw, dict):
            example = "{" + ", ".join(list(specs)[:2]) + ": ...}"
            raise invalid(where, raw, "a mapping of settings (" + ", ".join(specs) + ")", example=example)
        unknown = [key for key in raw if key not in specs]
        if unknown and not cls.keeps_extra:
            raise unknown_key(f"{where}.{unknown[0]}", specs)
        values: dict[str, Any] = {"extra": {key: raw[key] for key in unknown}} if cls.keeps_extra else {}
        for key, spec in specs.items():
            where_key = f"{where}.{key}"
            if key in raw and (raw[key] is not None or isinstance(spec.constraint, Nested)):
                values[spec.attr] = spec.constraint.check(raw[key], where_key)
            elif spec.required:
                raise invalid(where_key, raw.get(key), spec.constraint.describe(),
                              example=spec.constraint.example)
        section = cls(**values)
        section.validate(where)
        return section

    def validate(self, where: str) -> None:
        """Checks across settings (override; raise through ``invalid``)."""

    def items(self) -> Iterator[tuple[str, Any]]:
        for spec in self.specs():
            yield spec.key, getattr(self, spec.attr)

    def to_dict(self, *, drop_none: bool = False) -> dict[str, Any]:
        """Converted values under the keys of the file (sub-sections as mappings)."""
        result: dict[str, Any] = {}
        for key, value in self.items():
            if drop_none and value is None:
                continue
            result[key] = _plain(value, drop_none)
        if self.keeps_extra:
            result.update(copy.deepcopy(getattr(self, "extra", {})))
        return result


def _plain(value: Any, drop_none: bool) -> Any:
    if isinstance(value, Section):
        return value.to_dict(drop_none=drop_none)
    if isinstance(value, list):
        return [_plain(v, drop_none) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, drop_none) for k, v in value.items()}
    return value
