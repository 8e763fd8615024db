"""Quality gates from conveyor.yaml, evaluated on the holdout after training. The result travels with the model
version (``meta["gates"]``), and the registry refuses to promote a version whose gates failed unless an override
is given with a reason (audited).

    gates:
      min: {roc_auc: 0.85}            # absolute floors (metrics where greater is better)
      max: {log_loss: 0.4}            # absolute ceilings (metrics where lower is better)
      beat_champion: {margin: 0.005, alias: champion}   # beat the current champion on the same holdout
      fairness: {demographic_parity_difference: 0.1}    # largest gap allowed across each `sensitive` column
      max_latency_ms_per_row: 5
      max_model_mb: 50
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from conveyor.core.config.sections.gates import GatesSection
from conveyor.evaluate.metrics import improvement


@dataclass
class GateResult:
    rule: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_gates(config: dict[str, Any] | None) -> dict[str, Any]:
    """The gates of the ``gates:`` section, checked there (unknown rules get "did you mean", bad bounds name
    ``gates.KEY``): only the rules that are set."""
    return GatesSection.parse(config, "gates").rules()


def evaluate_gates(config: dict[str, Any] | None, *, metrics: dict[str, float], metric: str,
                   fairness: dict[str, dict[str, Any]], latency_ms: float, model_bytes: int,
                   champion: tuple[str, dict[str, float]] | None) -> list[GateResult]:
    config = check_gates(config)
    results: list[GateResult] = []
    for name, bound in config.get("min", {}).items():
        value = metrics.get(name)
        results.append(GateResult(f"min.{name}", value is not None and value >= bound, value, bound,
                                  f"holdout {name} {_fmt(value)} must be >= {bound:g}"))
    for name, bound in config.get("max", {}).items():
        value = metrics.get(name)
        results.append(GateResult(f"max.{name}", value is not None and value <= bound, value, bound,
                                  f"holdout {name} {_fmt(value)} must be <= {bound:g}"))
    if "beat_champion" in config:
        margin = config["beat_champion"]["margin"]
        if champion is None:
            results.append(GateResult("beat_champion", True, None, margin, "no champion yet: nothing to beat"))
        else:
            ref, champion_metrics = champion
            new, old = metrics.get(metric), champion_metrics.get(metric)
            gain = improvement(metric, new, old) if new is not None and old is not None else None
            results.append(GateResult("beat_champion", gain is not None and gain > margin, gain, margin,
                                      f"{metric} {_fmt(new)} vs champion {ref} {_fmt(old)} on the same holdout: "
                                      f"gain {_fmt(gain)} must be > {margin:g}"))
    for name, bound in config.get("fairness", {}).items():
        if not fairness:
            results.append(GateResult(f"fairness.{name}", False, None, bound,
                                      "no sensitive columns were evaluated: set data.sensitive in conveyor.yaml"))
        for column, report in fairness.items():
            value = report.get(name)
            results.append(GateResult(f"fairness.{name}[{column}]", value is not None and value <= bound, value,
                                      bound, f"{name} across {column!r} {_fmt(value)} must be <= {bound:g}"))
    if "max_latency_ms_per_row" in config:
        bound = config["max_latency_ms_per_row"]
        results.append(GateResult("max_latency_ms_per_row", latency_ms <= bound, latency_ms, bound,
                                  f"batch latency {latency_ms:.3f} ms per row must be <= {bound:g}"))
    if "max_model_mb" in config:
        bound = config["max_model_mb"]
        size = model_bytes / 1e6
        results.append(GateResult("max_model_mb", size <= bound, size, bound,
                                  f"model size {size:.2f} MB must be <= {bound:g}"))
    return results


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def summary(results: list[GateResult]) -> dict[str, Any]:
    return {"passed": all(r.passed for r in results), "rules": [r.to_dict() for r in results]}
