"""``retrain:`` the retraining policy: `conveyor retrain` and the agent's triggers, promotion and rollback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import (
    Boolean,
    Constraint,
    Duration,
    Integer,
    ListOf,
    Name,
    Nested,
    Number,
    OneOf,
)
from conveyor.core.config.section import Section, setting
from conveyor.core.errors import BadInputError, MissingDependencyError
from conveyor.core.schedules import parse_schedule

TRIGGERS = ("drift", "performance", "new_data", "schedule")  # the default of retrain.on
EVENTS = ("alert", "promotion", "webhook")  # events that start the built-in retrain pipeline when listed


class ScheduleValue(Constraint):
    """A duration (converted to seconds, as before) or a cron expression (kept as text, checked by croniter)."""

    example = "'0 2 * * 1'"

    def check(self, value: Any, key: str) -> float | str:
        try:
            schedule = parse_schedule(value, key)
        except MissingDependencyError:
            raise
        except BadInputError:
            raise self.fail(value, key) from None
        return schedule.every if schedule.every is not None else schedule.text

    def describe(self) -> str:
        return "a cron expression (5 fields, UTC) or a positive duration (7d, 12h)"


@dataclass(frozen=True, kw_only=True)
class Rollback(Section):
    """After a promotion the agent watches live labels and rolls the alias back on a regression."""

    max_drop: float = setting(0.05, Number(min=0, example="0.05"),
                              doc="Roll back when the new champion is worse than the previous one by more than "
                                  "this, live, on the same labelled predictions.", old=("policy.rollback_drop",))


@dataclass(frozen=True, kw_only=True)
class RetrainSection(Section):
    """`conveyor retrain` (one pass) and `conveyor agent` (a loop): which triggers retrain a model, how a
    challenger must beat the champion, and how a promotion is watched and rolled back."""

    section: ClassVar[str] = "retrain"
    order: ClassVar[int] = 70

    model: str | None = setting(None, Name("a model name", example="churn"),
                                doc="The model the agent looks after (`conveyor agent MODEL` wins).",
                                old=("policy.model",))
    environment: str | None = setting(None, Name("an environment or alias", example="staging"),
                                      doc="The environment (or alias) `conveyor retrain` and the agent promote into, "
                                          "through its order, gates and approval; default: the first environment, "
                                          "or `champion` without environments.", old=("policy.alias",))
    on: list[str] = setting(list(TRIGGERS), ListOf(OneOf(*TRIGGERS, *EVENTS), unique=True,
                                                   example="[drift, new_data]"),
                            doc="Triggers: drift (share of drifted inputs), performance (live metric drop), "
                                "new_data (a newer version of the training data), schedule (retrain.schedule), "
                                "and the events alert (an alert on the model), promotion (of the model's "
                                "environment) and webhook (a call to the retrain pipeline's webhook), which start "
                                "the built-in `retrain` pipeline under `conveyor pipelines schedule`.",
                            old=("policy.triggers",))
    schedule: float | str | None = setting(None, ScheduleValue(),
                                           doc="Trigger schedule: a duration retrains a champion older than it; a "
                                               "cron expression (UTC; needs croniter, in the monitor extra) "
                                               "retrains once a tick has passed since the champion was made.",
                                           old=("policy.schedule",))
    min_improvement: float = setting(0.0, Number(example="0.005"),
                                     doc="A challenger is promoted only when it beats the champion by more than "
                                         "this on the same recent holdout.", old=("policy.min_improvement",))
    holdout_fraction: float = setting(0.2, Number(0, 1, min_open=True, max_open=True, example="0.2"),
                                      doc="Share of the newest rows (by data.time_column, else random) held out to "
                                          "compare challenger and champion.")
    drift_share: float = setting(0.2, Number(0, 1, example="0.3"),
                                 doc="Trigger drift: share of input columns drifted in the window (or the newest "
                                     "data version).", old=("policy.drift_share",))
    performance_drop: float = setting(0.05, Number(min=0, example="0.05"),
                                      doc="Trigger performance: live accuracy/RMSE worse than at training by this "
                                          "much.", old=("policy.performance_drop",))
    min_labels: int = setting(100, Integer(min=1, example="100"),
                              doc="Labels needed to judge live performance or a watch.", old=("policy.min_labels",))
    watch: float = setting("1d", Duration(example="1d"), doc="How long a promotion is watched.",
                           old=("policy.watch",))
    rollback: Rollback = setting({}, Nested(Rollback), doc="Rolling a watched promotion back (max_drop).")
    lease: float = setting("10m", Duration(positive=True, example="10m"),
                           doc="A crashed agent's job is taken over after this.", old=("policy.lease",))
    budget: float | None = setting(None, Duration(positive=True, example="2m"),
                                   doc="Training budget of a retrain (default train.budget; `--budget` wins).",
                                   old=("policy.budget",))
    max_trials: int | None = setting(None, Integer(min=1, example="20"),
                                     doc="Trial budget of a retrain (`--trials` wins).", old=("policy.max_trials",))
    refresh: bool = setting(False, Boolean(),
                            doc="Before each agent tick, run the query of the training dataset's newest version "
                                "again through its stored connection (`conveyor data refresh`), so new rows in the "
                                "source become a new version (and the new_data trigger sees them).")


SECTION = RetrainSection
