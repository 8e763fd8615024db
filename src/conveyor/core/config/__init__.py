"""L0: conveyor.yaml as data: one typed, validated model with a section per top-level key.

    from conveyor.core.config import ProjectConfig
    config = ProjectConfig.load(path)          # BadInputError naming `section.key` on the first mistake
    config.train.budget, config.monitor.window

Each section lives in its own module under ``sections/`` (``SECTION = MonitorSection``), declared with
:func:`setting` and the constraints of :mod:`conveyor.core.config.constraints`; docs/configuration.md is generated
from them (:mod:`conveyor.core.config.docs`). Imports nothing of conveyor but ``core``.
"""

from conveyor.core.config.constraints import (
    Boolean,
    Constraint,
    Duration,
    Integer,
    ListOf,
    MapOf,
    Name,
    Nested,
    Number,
    OneOf,
    Text,
    Url,
    invalid,
    unknown_key,
)
from conveyor.core.config.model import ConfigDeprecationWarning, ProjectConfig, legacy_keys
from conveyor.core.config.registry import SECTIONS, builtin_sections
from conveyor.core.config.section import REQUIRED, Section, Spec, setting

__all__ = [
    "REQUIRED",
    "SECTIONS",
    "Boolean",
    "ConfigDeprecationWarning",
    "Constraint",
    "Duration",
    "Integer",
    "ListOf",
    "MapOf",
    "Name",
    "Nested",
    "Number",
    "OneOf",
    "ProjectConfig",
    "Section",
    "Spec",
    "Text",
    "Url",
    "builtin_sections",
    "invalid",
    "legacy_keys",
    "setting",
    "unknown_key",
]
