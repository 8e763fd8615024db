"""``environments:`` deployment environments in promotion order, each an alias with its own gates, approval and
serving settings (opt-in: without this section there are none, and ``champion``/``challenger`` work as before).

    environments:
      dev: {}
      staging: {gates: {min: {roc_auc: 0.8}}}
      prod: {approval: true, gates: {beat: {alias: prod, margin: 0.0}}, serve: {max_rows: 5000}}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import Boolean, MapOf, Name, Nested, Number, invalid
from conveyor.core.config.section import Section, setting
from conveyor.core.config.sections.serve import ServeSection

# the aliases of the flow without environments: with environments they name the last one and the one before it
ROLE_ALIASES = ("champion", "challenger")
DEFAULT_ENVIRONMENTS: dict[str, dict[str, Any]] = {"dev": {}, "staging": {}, "prod": {"approval": True}}


@dataclass(frozen=True, kw_only=True)
class BeatHolder(Section):
    """The version must beat the holder of ``alias`` on their recorded holdout metrics by more than ``margin``."""

    alias: str = setting("champion", Name("an alias or environment", example="prod"),
                         doc="Whose model is to beat (`champion` is the last environment).")
    margin: float = setting(0.0, Number(example="0.005"), doc="Least gain, in units of the model's metric.")


@dataclass(frozen=True, kw_only=True)
class EnvironmentGates(Section):
    """Gates checked when a version is promoted into this environment (on the metrics it recorded at training)."""

    min: dict[str, float] = setting({}, MapOf(Number(), example="{roc_auc: 0.85}"),
                                    doc="Floors of recorded holdout metrics where greater is better.")
    max: dict[str, float] = setting({}, MapOf(Number(), example="{log_loss: 0.4}"),
                                    doc="Ceilings of recorded holdout metrics where lower is better.")
    beat: BeatHolder | None = setting(None, Nested(BeatHolder),
                                      doc="Beat the holder of an alias (`{alias: prod}`); nothing to beat passes.")
    max_model_mb: float | None = setting(None, Number(min=0, min_open=True, example="50"),
                                         doc="Ceiling of the stored model's size, MB.")


@dataclass(frozen=True, kw_only=True)
class Environment(Section):
    """One environment: its alias is its name."""

    gates: EnvironmentGates = setting({}, Nested(EnvironmentGates), doc="Gates of a promotion into it.")
    approval: bool = setting(False, Boolean(), doc="A promotion into it waits for another user's approval "
                                                   "(enforced when authentication is on).")
    requires_previous: bool = setting(True, Boolean(), doc="Only a version that was promoted into the environment "
                                                           "before this one may enter (the promotion order).")
    serve: ServeSection = setting({}, Nested(ServeSection), doc="`conveyor serve --env` settings over serve:.")


@dataclass(frozen=True, kw_only=True)
class EnvironmentsSection(Section):
    """Deployment environments, in promotion order (`conveyor init --environments` writes dev, staging and prod,
    prod with approval). Each name is an alias (`churn@staging`); `champion` names the last and `challenger` the
    one before it. `conveyor models promote M:N --to ENV` enforces the order, the environment's gates and its
    approval; `conveyor serve M --env ENV` follows its alias with its serve settings."""

    section: ClassVar[str] = "environments"
    order: ClassVar[int] = 45
    keeps_extra: ClassVar[bool] = True  # every key is an environment's name
    entry: ClassVar[type[Section]] = Environment  # what each key holds (for docs/configuration.md)

    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self, where: str) -> None:
        for name in list(self.extra):
            key = f"{where}.{name}"
            Name("an environment name", example="staging").check(name, key)
            if name in ROLE_ALIASES:
                raise invalid(key, name, "an environment name other than champion and challenger (they name the "
                                         "last environment and the one before it)", example="prod")
            if not isinstance(self.extra[name], Environment):
                self.extra[name] = Environment.parse(self.extra[name], key)

    # reading
    @property
    def enabled(self) -> bool:
        return bool(self.extra)

    def names(self) -> list[str]:
        """The environments in promotion order."""
        return list(self.extra)

    def get(self, name: str) -> Environment:
        return self.extra[name]  # type: ignore[no-any-return]

    def to_dict(self, *, drop_none: bool = False) -> dict[str, Any]:
        return {name: env.to_dict(drop_none=drop_none) for name, env in self.extra.items()}


SECTION = EnvironmentsSection
