"""``project.monitoring``: drift and performance checks (`conveyor monitor`), alerts (`conveyor alerts`),
resource sampling and the retraining agent (`conveyor agent`).

The checks pull in SciPy and scikit-learn, the sampler psutil, the agent the training stack: they are imported
when first used, so `conveyor alerts` and `conveyor models list` do not wait for them.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from conveyor.core.durations import parse_duration
from conveyor.core.entities import Alert, DatasetVersion, Sample
from conveyor.core.errors import BadInputError
from conveyor.core.settings import STATE_DIR
from conveyor.data import datasets
from conveyor.monitor import alerts as alerting
from conveyor.project._base import LocalAPI, write_page
from conveyor.project._options import alert_settings, build_agent, drift_policy
from conveyor.registry import models

if TYPE_CHECKING:
    from conveyor.execution.resources import ResourceSampler
    from conveyor.monitor.monitoring import MonitorReport
    from conveyor.pipeline.agent import Agent


class MonitoringAPI(Protocol):
    """Checks of a model version against its reference statistics, alerts, and the loop that heals it."""

    def monitor(self, ref: str, *, current: str | DatasetVersion | pd.DataFrame | None = None,
                window: int | None = None, since: str | float | None = None, multivariate: bool = False,
                record: bool = True) -> MonitorReport: ...

    def write_report(self, report: MonitorReport, path: str | Path | None = None, *,
                     samples: builtins.list[Sample] | None = None,
                     alerts: builtins.list[Alert] | None = None) -> Path: ...

    def reference_stats(self, ref: str) -> dict[str, Any]: ...

    def alerts(self, *, status: str | None = None, subject: str | None = None,
               limit: int | None = None) -> builtins.list[Alert]: ...

    def samples(self, subject: str, *, series: str | None = None, limit: int = 500) -> builtins.list[Sample]: ...

    def ack(self, alert_id: str) -> Alert: ...

    def evaluate_alerts(self, subject: str) -> builtins.list[Alert]: ...

    def alert_rules(self) -> builtins.list[alerting.Rule]: ...

    def resource_sampler(self, subject: str, *, interval: float | None = None) -> ResourceSampler: ...

    def agent(self, model: str | None = None) -> Agent: ...


class LocalMonitoring(LocalAPI):
    """:class:`MonitoringAPI` on this project's stores (the sampler and the agent run in this process)."""

    def monitor(self, ref: str, *, current: str | DatasetVersion | pd.DataFrame | None = None,
                window: int | None = None, since: str | float | None = None, multivariate: bool = False,
                record: bool = True) -> MonitorReport:
        """Check ``ref`` against its stored reference statistics, on ``current`` (a version or a DataFrame) or on a
        window of logged predictions (the last ``window``, else those ``since``, else monitor.window); store the
        scores as time series and evaluate the alert rules on them (``record=False``: just look)."""
        from conveyor.monitor.monitoring import monitor_frame, window_frame  # deferred: SciPy, scikit-learn

        model = models.resolve_model(self.stores, ref)
        if current is not None and (window is not None or since is not None):
            raise BadInputError("Give either --current or a window (--window/--since), not both.", field="current")
        options: dict[str, Any] = {"multivariate": multivariate, "policy": drift_policy(self._project)}
        if isinstance(current, pd.DataFrame):
            report = monitor_frame(self.stores, model, current, "dataframe", **options)
        elif current is not None:
            version = datasets.resolve(self.stores, current)
            report = monitor_frame(self.stores, model, datasets.load_frame(self.stores, version), version.ref,
                                   **options)
        else:
            seconds = parse_duration(since, "since") if since is not None else None
            if window is None and seconds is None:
                window = self.config.monitor.window
            frame, records = window_frame(self.stores, model, window, seconds)
            label = f"last {len(frame)} predictions" + (f" within {since}" if since is not None else "")
            report = monitor_frame(self.stores, model, frame, label, records, **options)
        if record:
            self.stores.monitoring.add_samples(report.samples())
            self.evaluate_alerts(model.ref)
        return report

    def write_report(self, report: MonitorReport, path: str | Path | None = None, *,
                     samples: builtins.list[Sample] | None = None,
                     alerts: builtins.list[Alert] | None = None) -> Path:
        """Write the offline HTML page of a check (distributions, verdicts, and the ``samples`` and ``alerts``
        given: scores and resources over time) to ``path``, default .conveyor/reports/MODEL-N.html."""
        from conveyor.monitor.report import render_html  # deferred: with the report's own plots

        target = Path(path) if path is not None else \
            self.root / STATE_DIR / "reports" / f"{report.model.replace(':', '-')}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_page(target, render_html(report, samples or [], alerts or []))

    def reference_stats(self, ref: str) -> dict[str, Any]:
        """The stored reference statistics of a model version, computed from its training data on first call."""
        from conveyor.monitor.monitoring import reference_stats  # deferred: SciPy

        return reference_stats(self.stores, models.resolve_model(self.stores, ref))

    def alerts(self, *, status: str | None = None, subject: str | None = None,
               limit: int | None = None) -> builtins.list[Alert]:
        """Alerts, newest first."""
        return self.stores.monitoring.alerts(subject, status=status, limit=limit)

    def samples(self, subject: str, *, series: str | None = None, limit: int = 500) -> builtins.list[Sample]:
        """The newest ``limit`` stored points of ``subject`` (a model version, ``train:NAME``, ``serve:M:N``),
        newest first; ``series`` ending in "*" matches a prefix."""
        return self.stores.monitoring.samples(subject, series=series, limit=limit)[::-1]

    def ack(self, alert_id: str) -> Alert:
        """Acknowledge an alert (id or unique prefix): it stops counting repeats; its rule keeps its cooldown."""
        return alerting.acknowledge(self.stores.monitoring, alert_id, models.current_actor())

    def alert_rules(self) -> builtins.list[alerting.Rule]:
        """The alert rules of conveyor.yaml (alerts.rules), with their notifiers checked."""
        return alerting.parse_rules(self.config.alerts)

    def _alert_settings(self) -> dict[str, Any]:
        return alert_settings(self._project)

    def evaluate_alerts(self, subject: str) -> builtins.list[Alert]:
        """Evaluate the alert rules on ``subject``'s stored series (and on the subjects rules name); notify and
        store what fires."""
        rules = self.alert_rules()
        if not rules:
            return []
        return alerting.evaluate_all(self.stores.monitoring, rules, subject, self._alert_settings())

    def resource_sampler(self, subject: str, *, interval: float | None = None) -> ResourceSampler:
        """A sampler of this process's CPU, memory, disk (and GPUs) that stores into this project; start() it
        (or use it as a context manager). ``interval`` defaults to monitor.resource_interval."""
        from conveyor.execution.resources import ResourceSampler  # deferred: psutil

        every = interval if interval is not None else self.config.monitor.resource_interval
        return ResourceSampler(self.stores.monitoring.add_samples, subject, interval=every, disk_path=self.root)

    def agent(self, model: str | None = None) -> Agent:
        """The retraining agent for ``model`` (default retrain.model), configured from conveyor.yaml: the same
        drift tests as `conveyor monitor` and the same retraining options as `conveyor retrain`."""
        return build_agent(self._project, model)
