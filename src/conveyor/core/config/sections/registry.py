"""``registry:`` the model registry's protected aliases (without environments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import ListOf, Name
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class RegistrySection(Section):
    """Without `environments:`, the aliases a promotion into needs another user's approval (enforced when
    authentication is on; with environments, `environments.<env>.approval` decides)."""

    section: ClassVar[str] = "registry"
    order: ClassVar[int] = 46

    protected: list[str] = setting([], ListOf(Name("an alias"), unique=True, example="[champion]"),
                                   doc="Aliases whose promotions need an approval, e.g. [champion].")


SECTION = RegistrySection
