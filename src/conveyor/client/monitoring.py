"""``project.monitoring`` against a server: alerts, acks, reference statistics and stored samples. A check
(`conveyor monitor`) runs on the server (POST /api/v1/monitoring/checks); the agent runs beside the store."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from conveyor.client._base import RemoteAPI
from conveyor.core.entities import Alert, DatasetVersion, Sample


class NoSampler:
    """Resources of a remote CLI are not the platform's: a sampler that records nothing."""

    def start(self) -> NoSampler:
        return self

    def stop(self) -> None:
        return None

    def __enter__(self) -> NoSampler:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


class RemoteMonitoring(RemoteAPI):
    """:class:`~conveyor.project.monitoring.MonitoringAPI` over a server (where it can be)."""

    def monitor(self, ref: str, *, current: str | DatasetVersion | pd.DataFrame | None = None,
                window: int | None = None, since: str | float | None = None, multivariate: bool = False,
                record: bool = True) -> Any:
        self._local_only("`conveyor monitor`'s report", "The server runs checks at POST /api/v1/monitoring/checks "
                                                        "(see check()); its report is there as JSON.")

    def check(self, ref: str, *, current: str | None = None, window: int | None = None, since: str | None = None,
              multivariate: bool = False, record: bool = True) -> dict[str, Any]:
        """A drift and performance check run on the server; its report as a dict."""
        body = {"ref": ref, "current": current, "window": window, "since": since, "multivariate": multivariate,
                "record": record}
        return self.connection.post("/monitoring/checks", {k: v for k, v in body.items() if v is not None})

    def write_report(self, report: Any, path: str | Path | None = None, *,
                     samples: builtins.list[Sample] | None = None,
                     alerts: builtins.list[Alert] | None = None) -> Path:
        self._local_only("The monitoring page")

    def reference_stats(self, ref: str) -> dict[str, Any]:
        return self.connection.get("/monitoring/reference", ref=ref)

    def samples(self, subject: str, *, series: str | None = None, limit: int = 500) -> builtins.list[Sample]:
        """Stored points of ``subject``, newest first."""
        return [Sample(**s) for s in self.connection.items("/monitoring/samples", limit, subject=subject,
                                                           series=series)]

    def alerts(self, *, status: str | None = None, subject: str | None = None,
               limit: int | None = None) -> builtins.list[Alert]:
        return [Alert(**a) for a in self.connection.items("/alerts", limit, status=status, subject=subject)]

    def ack(self, alert_id: str) -> Alert:
        return Alert(**self.connection.post(f"/alerts/{quote(alert_id)}/ack"))

    def evaluate_alerts(self, subject: str) -> builtins.list[Alert]:
        self._local_only("Evaluating alert rules")

    def alert_rules(self) -> builtins.list[Any]:
        self._local_only("The alert rules")

    def resource_sampler(self, subject: str, *, interval: float | None = None) -> NoSampler:
        return NoSampler()

    def agent(self, model: str | None = None) -> Any:
        self._local_only("`conveyor agent`", "Run the agent beside the platform's store (it holds store "
                                             "credentials; user CLIs never do).")
