"""``data:`` what the project's data means: the target, the time order, sensitive columns, the ingest policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import ListOf, OneOf, Text
from conveyor.core.config.section import Section, setting

ON_ERROR = ("reject", "quarantine", "warn")


@dataclass(frozen=True, kw_only=True)
class DataSection(Section):
    """What the project's data means. Read by `conveyor train` (target, time column, sensitive columns),
    `conveyor retrain` and the agent (recent holdout by time), and `conveyor data ingest` (contract policy)."""

    section: ClassVar[str] = "data"
    order: ClassVar[int] = 10

    target: str | None = setting(None, Text("a column name", example="churned"),
                                 doc="Column to predict: the default of `conveyor train --target`.")
    time_column: str | None = setting(None, Text("a column name", example="event_time"),
                                      doc="Column that orders rows in time. Retraining holds out the newest rows by "
                                          "it; it is never a feature.")
    sensitive: list[str] = setting([], ListOf(Text("a column name"), example="[sex, age_band]"),
                                   doc="Columns to evaluate fairness across (per group metrics, fairness gates); "
                                       "they are not used as features.", old=("train.sensitive",))
    on_error: str = setting("reject", OneOf(*ON_ERROR),
                            doc="What an ingest does with rows that fail the dataset's contract: reject the "
                                "batch, quarantine the failing rows to NAME.quarantine, or warn and store all. "
                                "`--on-error` wins.")


SECTION = DataSection
