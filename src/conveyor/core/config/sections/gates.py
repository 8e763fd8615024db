"""``gates:`` quality gates checked on the holdout after training; a version that fails one cannot be promoted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import MapOf, Name, Nested, Number
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class BeatChampion(Section):
    """The challenger must beat the current holder of ``alias`` on the same holdout by more than ``margin``."""

    margin: float = setting(0.0, Number(example="0.005"), doc="Least gain over the champion, in metric units.")
    alias: str = setting("champion", Name(example="champion"), doc="The alias whose model is to beat.")


@dataclass(frozen=True, kw_only=True)
class GatesSection(Section):
    """Quality gates, evaluated on the holdout after training. The result travels with the model version, and
    the registry refuses to promote a version whose gates failed unless an override is given with a reason."""

    section: ClassVar[str] = "gates"
    order: ClassVar[int] = 30

    min: dict[str, float] = setting({}, MapOf(Number(), example="{roc_auc: 0.85}"),
                                    doc="Floors of holdout metrics where greater is better.")
    max: dict[str, float] = setting({}, MapOf(Number(), example="{log_loss: 0.4}"),
                                    doc="Ceilings of holdout metrics where lower is better.")
    beat_champion: BeatChampion | None = setting(None, Nested(BeatChampion),
                                                 doc="Beat the current champion on this run's holdout "
                                                     "(`{}` for the defaults).")
    fairness: dict[str, float] = setting({}, MapOf(Number(min=0), example="{demographic_parity_difference: 0.1}"),
                                         doc="Largest gap allowed across each of data.sensitive's columns.")
    max_latency_ms_per_row: float | None = setting(None, Number(min=0, min_open=True, example="5"),
                                                   doc="Batch prediction latency ceiling, ms per row.")
    max_model_mb: float | None = setting(None, Number(min=0, min_open=True, example="50"),
                                         doc="Model size ceiling, MB.")

    def rules(self) -> dict[str, Any]:
        """The gates that are set, as the trainer's ``gates`` mapping (empty: no gate)."""
        return {key: value for key, value in self.to_dict(drop_none=True).items() if value != {}}


SECTION = GatesSection
