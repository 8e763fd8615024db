"""``monitor:`` how `conveyor monitor` and the agent judge a window of predictions against the reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import Duration, Integer, MapOf, Name, Number
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class MonitorSection(Section):
    """Drift checks of `conveyor monitor`, `conveyor retrain` and the agent, and resource sampling. The same
    settings reach every verb, so the same window gets the same verdict from each."""

    section: ClassVar[str] = "monitor"
    order: ClassVar[int] = 50

    window: int = setting(1000, Integer(min=1, example="1000"),
                          doc="Logged predictions per check (`conveyor monitor` without `--window`, the agent).",
                          old=("policy.window",))
    numeric_method: str = setting("auto", Name(example="psi"),
                                  doc="Drift test for numeric columns: auto (by window size), ks, wasserstein, psi "
                                      "(or a plug-in drift test).")
    categorical_method: str = setting("auto", Name(example="jensenshannon"),
                                      doc="Drift test for categorical columns: auto, chi2, jensenshannon, psi (or a "
                                          "plug-in drift test).")
    thresholds: dict[str, float] = setting({}, MapOf(Number(min=0, min_open=True), example="{psi: 0.25}"),
                                           doc="Per drift test, the score at which a column counts as drifted "
                                               "(default: each test's own).")
    resource_interval: float = setting("5s", Duration(positive=True, example="10s"),
                                       doc="How often `conveyor serve` and `conveyor train` sample their CPU, "
                                           "memory, disk and GPUs.")

    def drift_policy(self) -> dict[str, Any]:
        """Keyword arguments of the drift policy: ``DriftPolicy(**config.monitor.drift_policy())``."""
        return {"numeric_method": self.numeric_method, "categorical_method": self.categorical_method,
                "thresholds": dict(self.thresholds)}


SECTION = MonitorSection
