"""``features:`` the feature store: where `conveyor features materialize` writes and lookups read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import Name, Text
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class FeaturesSection(Section):
    """The feature store (docs/features.md). Feature views are declared in features/*.yaml and features/*.py."""

    section: ClassVar[str] = "features"
    order: ClassVar[int] = 35

    online_store: str = setting("sqlite", Name("an online store", example="redis"),
                                doc="Where materialised feature values live: sqlite (a file in .conveyor), redis, "
                                    "memory, or a plug-in's name (entry-point group conveyor.online_stores).")
    online_url: str | None = setting(None, Text("a path or URL", example="redis://127.0.0.1:6379/0"),
                                     doc="The online store's location: a file for sqlite (default "
                                         ".conveyor/online.db, relative to the project), redis://HOST:PORT/DB for "
                                         "redis.")


SECTION = FeaturesSection
