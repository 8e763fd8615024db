"""``environments:`` deployment environments in promotion order, each an alias with its own gates, approval and
serving settings (opt-in: without this section there are none, and ``champion``/``challenger`` work as before).

    environments:
      dev: {}
      staging: {gates: {min: {roc_auc: 0.8}}}
      prod:
        approval: true
        gates:
          beat: {alias: prod, margin: 0.0, on: newest}      # re-scored on the newest labelled data
          max_latency_ms: 20                                 # p95 of single-row predictions
          shadow: {requests: 500, minutes: 30, max_errors: 0, max_prediction_drift: 0.1}
        serve: {max_rows: 5000}
        shadow: staging                                      # `serve --env prod` shadows churn@staging
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import Boolean, Integer, MapOf, Name, Nested, Number, OneOf, invalid
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
    on: str = setting("recorded", OneOf("recorded", "newest"),
                      doc="`recorded`: the holdout metrics each version recorded at training; `newest`: both "
                          "scored now on the same held-out rows of the newest version of the candidate's dataset "
                          "(retrain.holdout_fraction, newest by data.time_column).")


@dataclass(frozen=True, kw_only=True)
class ShadowGate(Section):
    """A shadow period: the candidate scored the same requests as the holder of the environment's alias, off the
    hot path (`conveyor serve MODEL --env prod --shadow MODEL@staging`), with the serving process logging both. It
    passes once it covered ``requests`` requests or ``minutes`` minutes (either, where both are set), with at most
    ``max_errors`` shadow failures and a prediction drift against the holder's answers of at most
    ``max_prediction_drift``. Nothing to shadow (no holder yet) passes."""

    requests: int | None = setting(None, Integer(min=1, example="500"), doc="Shadowed requests that suffice.")
    minutes: float | None = setting(None, Number(min=0, min_open=True, example="30"),
                                    doc="Minutes from the first shadowed request to the last that suffice.")
    max_errors: int = setting(0, Integer(min=0, example="0"), doc="Shadow failures allowed in the period.")
    max_prediction_drift: float | None = setting(
        None, Number(min=0, example="0.1"),
        doc="Classification: the share of shadowed rows whose class differs from the holder's; regression: the "
            "mean absolute difference over the standard deviation of the holder's predictions.")

    def validate(self, where: str) -> None:
        if self.requests is None and self.minutes is None:
            raise invalid(where, self.to_dict(drop_none=True), "a shadow period of `requests`, `minutes` or both",
                          example="{requests: 500, minutes: 30}")


@dataclass(frozen=True, kw_only=True)
class EnvironmentGates(Section):
    """Gates checked when a version is promoted into this environment: on the metrics it recorded at training, on
    the newest labelled data, on its latency, and on the shadow traffic the serving process logged."""

    min: dict[str, float] = setting({}, MapOf(Number(), example="{roc_auc: 0.85}"),
                                    doc="Floors of recorded holdout metrics where greater is better.")
    max: dict[str, float] = setting({}, MapOf(Number(), example="{log_loss: 0.4}"),
                                    doc="Ceilings of recorded holdout metrics where lower is better.")
    beat: BeatHolder | None = setting(None, Nested(BeatHolder),
                                      doc="Beat the holder of an alias (`{alias: prod}`); nothing to beat passes.")
    max_model_mb: float | None = setting(None, Number(min=0, min_open=True, example="50"),
                                         doc="Ceiling of the stored model's size, MB.")
    max_latency_ms: float | None = setting(None, Number(min=0, min_open=True, example="20"),
                                           doc="Latency budget: the p95 of single-row predictions on rows of the "
                                               "newest data, milliseconds.")
    shadow: ShadowGate | None = setting(None, Nested(ShadowGate),
                                        doc="A shadow period against the holder of this environment's alias.")


@dataclass(frozen=True, kw_only=True)
class Environment(Section):
    """One environment: its alias is its name."""

    gates: EnvironmentGates = setting({}, Nested(EnvironmentGates), doc="Gates of a promotion into it.")
    approval: bool = setting(False, Boolean(), doc="A promotion into it waits for another user's approval "
                                                   "(enforced when authentication is on).")
    requires_previous: bool = setting(True, Boolean(), doc="Only a version that was promoted into the environment "
                                                           "before this one may enter (the promotion order).")
    serve: ServeSection = setting({}, Nested(ServeSection), doc="`conveyor serve --env` settings over serve:.")
    shadow: str | None = setting(None, Name("an environment or alias", example="staging"),
                                 doc="`conveyor serve MODEL --env ENV` also scores its traffic with MODEL@this, off "
                                     "the hot path (`--shadow` wins): the traffic a `shadow` gate judges.")


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
