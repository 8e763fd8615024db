"""The flat methods of Project before the sub-APIs (``project.dataset(...)``, ``project.promote(...)`` ...): each
still works for one release, warns with DeprecationWarning naming the new call, and forwards to it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.core.config import ProjectConfig

# old Project method -> the sub-API call that replaces it
ALIASES: dict[str, str] = {
    "ingest_source": "data.ingest",
    "add_files": "data.add",
    "dataset": "data.get",
    "datasets": "data.list",
    "load_frame": "data.load_frame",
    "data_log": "data.log",
    "diff": "data.diff",
    "diff_html": "data.diff_html",
    "contract_path": "data.contract_path",
    "write_contract": "data.contract",
    "validate": "data.validate",
    "lineage": "data.lineage",
    "scan_pii": "data.scan",
    "filter_dataset": "data.filter",
    "split_dataset": "data.split",
    "join_datasets": "data.join",
    "build_features": "data.build_features",
    "checkout": "data.checkout",
    "start_run": "runs.start",
    "run": "runs.get",
    "evaluation": "runs.evaluation",
    "report": "runs.report",
    "model": "models.get",
    "aliases": "models.aliases",
    "load_model": "models.load",
    "promote": "models.promote",
    "rollback": "models.rollback",
    "import_model": "models.import_",
    "audit": "models.audit",
    "verify_audit": "models.verify",
    "model_card": "models.card",
    "monitor": "monitoring.monitor",
    "reference_stats": "monitoring.reference_stats",
    "alerts": "monitoring.alerts",
    "ack_alert": "monitoring.ack",
    "alert_rules": "monitoring.alert_rules",
    "evaluate_alerts": "monitoring.evaluate_alerts",
    "resource_sampler": "monitoring.resource_sampler",
    "agent": "monitoring.agent",
    "train": "training.train",
    "retrain": "training.retrain",
}
# `project.ingest(...)` returned the version alone; `project.data.ingest(...)` returns (version, created)
ADAPTERS: dict[str, Callable[[Any], Any]] = {"ingest": lambda result: result[0]}
ALIASES["ingest"] = "data.ingest"


def warn_moved(old: str, new: str) -> None:
    warnings.warn(f"Project.{old}() is deprecated and will be removed in 0.3; use project.{new}().",
                  DeprecationWarning, stacklevel=3)


def _alias(old: str, new: str) -> Callable[..., Any]:
    api, _, method = new.partition(".")
    adapt = ADAPTERS.get(old)

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        warn_moved(old, new)
        result = getattr(getattr(self, api), method)(*args, **kwargs)
        return adapt(result) if adapt is not None else result

    forward.__name__ = forward.__qualname__ = old
    forward.__doc__ = f"Deprecated: use ``project.{new}()``."
    return forward


class FlatAliases:
    """Project's flat methods of 0.1, kept one release as forwarding aliases."""

    config: ProjectConfig

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        """Deprecated: read ``project.config.<section>.<key>`` (typed and checked)."""
        warnings.warn(f"Project.setting() is deprecated and will be removed in 0.3; use project.config.{section}."
                      f"{key}.", DeprecationWarning, stacklevel=2)
        found = getattr(self.config.sections.get(section), key, None)
        return default if found is None else found


for _old, _new in ALIASES.items():
    setattr(FlatAliases, _old, _alias(_old, _new))
