"""The sections of conveyor.yaml: every module of ``conveyor.core.config.sections`` is one (its name is the
section's), and other packages add theirs through the entry-point group ``conveyor.config_sections``::

    [project.entry-points."conveyor.config_sections"]
    pager = "my_package.config:PagerSection"

Adding a section is adding one module that defines ``SECTION``; no other file changes.
"""

from __future__ import annotations

import pkgutil

from conveyor.core.config import sections
from conveyor.core.config.section import Section
from conveyor.core.errors import BadInputError
from conveyor.core.plugins import Registry


def _check(name: str, value: object) -> None:
    if not (isinstance(value, type) and issubclass(value, Section)) or value.section != name:
        raise BadInputError(f"The configuration section {name!r} must be a Section subclass whose section is "
                            f"{name!r}, got {value!r}.", field=name, hint="Fix the plug-in that registers it.")


SECTIONS: Registry[type[Section]] = Registry("configuration section", "conveyor.config_sections",
                                             field="conveyor.yaml", check=_check)
BUILTIN = tuple(sorted(m.name for m in pkgutil.iter_modules(sections.__path__) if not m.name.startswith("_")))
for _name in BUILTIN:
    SECTIONS.register_lazy(_name, f"conveyor.core.config.sections.{_name}:SECTION")


def builtin_sections() -> list[type[Section]]:
    """The built-in sections, in a stable order (plug-in sections are looked up when a file names them)."""
    return sorted((SECTIONS.get(name) for name in BUILTIN), key=lambda s: (s.order, s.section))
