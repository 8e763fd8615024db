"""An environment's gates on a version about to enter it. Each gate answers one rule ``{rule, passed, value,
threshold, detail}``; a refused promotion names the rule, the measured value and the limit.

- ``min`` / ``max``: the holdout metrics the version recorded at training.
- ``beat``: gain over the holder of an alias on the model's metric, on the recorded metrics (``on: recorded``) or
  with both scored now on the same held-out rows of the newest data (``on: newest``).
- ``max_model_mb``: the stored artifact's size.
- ``max_latency_ms``: the p95 of single-row predictions on rows of the newest data.
- ``shadow``: the shadow traffic the serving process logged: the candidate scored (role ``shadow``) the requests
  the holder of the environment's alias answered, for ``requests`` requests or ``minutes`` minutes (first to last
  shadowed request), with at most
  ``max_errors`` failures (samples ``serve.shadow_errors`` of the candidate) and a prediction drift against the
  holder's answers of at most ``max_prediction_drift``.

Scoring on data and timing predictions need the data and evaluation layers: the project hands them in as
:class:`GateMeasures` (the same object for the CLI, the REST API and the agent), so the gates run in one place.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from conveyor.core.config.sections.environments import ShadowGate
from conveyor.core.entities import ModelVersion, PredictionRecord
from conveyor.store import Stores

if TYPE_CHECKING:
    from conveyor.registry.environments import PromotionPolicy

__all__ = ["SHADOW_ERRORS", "GateMeasures", "NewestScores", "environment_gates", "shadow_stats"]

SHADOW_ERRORS = "serve.shadow_errors"  # the series a serving process counts its shadow model's failures in
SHADOW_WINDOW = 100_000  # logged rows read per version when a shadow period is judged


@dataclass(frozen=True)
class NewestScores:
    """Two versions scored on the same held-out rows of the newest data."""

    metric: str
    new: float | None
    old: float | None
    rows: int
    data: str  # the dataset version, "NAME@N"


class GateMeasures(Protocol):
    """What the gates measure beyond the registry (the project provides it)."""

    def newest_scores(self, version: ModelVersion, other: ModelVersion) -> NewestScores: ...

    def latency_ms(self, version: ModelVersion) -> tuple[float, int, str]:
        """(p95 milliseconds, predictions timed, the data they came from)."""
        ...


def _rule(rule: str, passed: bool, value: float | None, threshold: float | None, detail: str) -> dict[str, Any]:
    return {"rule": rule, "passed": passed, "value": value, "threshold": threshold, "detail": detail}


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def environment_gates(stores: Stores, version: ModelVersion, target: str, policy: PromotionPolicy
                      ) -> list[dict[str, Any]]:
    """The gates of environment ``target`` on ``version`` (none where ``target`` is no environment)."""
    env = policy.environment(target)
    if env is None:
        return []
    gates, results = env.gates, []
    for name, bound in gates.min.items():
        value = version.metrics.get(name)
        results.append(_rule(f"{target}.min.{name}", value is not None and value >= bound, value, bound,
                             f"recorded holdout {name} {_fmt(value)} must be >= {bound:g}"))
    for name, bound in gates.max.items():
        value = version.metrics.get(name)
        results.append(_rule(f"{target}.max.{name}", value is not None and value <= bound, value, bound,
                             f"recorded holdout {name} {_fmt(value)} must be <= {bound:g}"))
    if gates.beat is not None:
        results.append(_beat(stores, version, target, policy, gates.beat.alias, gates.beat.margin, gates.beat.on))
    if gates.max_model_mb is not None:
        size = len(stores.artifacts.get_bytes(version.artifact)) / 1e6
        results.append(_rule(f"{target}.max_model_mb", size <= gates.max_model_mb, size, gates.max_model_mb,
                             f"model size {size:.3f} MB must be <= {gates.max_model_mb:g}"))
    if gates.max_latency_ms is not None:
        results.append(_latency(version, target, policy, gates.max_latency_ms))
    if gates.shadow is not None:
        results.extend(_shadow(stores, version, target, gates.shadow))
    return results


def _unmeasurable(rule: str, threshold: float | None, what: str) -> dict[str, Any]:
    return _rule(rule, False, None, threshold, f"{what} cannot be measured here: no data access was given to the "
                                               "promotion (promote through the project, the CLI or the server)")


def _beat(stores: Stores, version: ModelVersion, target: str, policy: PromotionPolicy, alias: str,
          margin: float, on: str) -> dict[str, Any]:
    alias = policy.alias_for(alias)
    holder = stores.registry.aliases(version.name).get(alias)
    rule = f"{target}.beat.{alias}"
    if holder is None or holder == version.version:
        return _rule(rule, True, None, margin, f"no other version holds @{alias}: nothing to beat")
    other = stores.registry.get_version(version.name, holder)
    metric = version.meta.get("metric") or next(iter(version.metrics), "")
    where = "on their recorded holdout metrics"
    if on == "newest":
        if policy.measures is None:
            return _unmeasurable(rule, margin, f"{metric} on the newest data")
        scores = policy.measures.newest_scores(version, other)
        metric, new, old = scores.metric, scores.new, scores.old
        where = f"on the same {scores.rows} held-out rows of {scores.data}"
    else:
        new, old = version.metrics.get(metric), other.metrics.get(metric)
    gain = policy.improvement(metric, new, old) if new is not None and old is not None else None
    return _rule(rule, gain is not None and gain > margin, gain, margin,
                 f"{metric} {_fmt(new)} vs @{alias} ({other.ref}) {_fmt(old)}: gain {_fmt(gain)} must be > "
                 f"{margin:g} ({where})")


def _latency(version: ModelVersion, target: str, policy: PromotionPolicy, budget: float) -> dict[str, Any]:
    rule = f"{target}.max_latency_ms"
    if policy.measures is None:
        return _unmeasurable(rule, budget, "latency")
    p95, count, data = policy.measures.latency_ms(version)
    return _rule(rule, p95 <= budget, p95, budget,
                 f"p95 latency {p95:.3f} ms of {count} single-row predictions on {data} must be <= {budget:g} ms")


@dataclass(frozen=True)
class ShadowStats:
    """What the prediction log holds of a candidate shadowing the holder of an alias."""

    requests: int  # distinct requests the candidate scored in the shadow role
    rows: int
    minutes: float  # from the first shadowed request to the last
    errors: int  # shadow failures the serving process counted for the candidate
    paired: int  # shadowed rows matched with the holder's answer to the same request
    drift: float | None  # see ShadowGate.max_prediction_drift; None with nothing paired


def _row_key(record: PredictionRecord, columns: list[str]) -> str:
    return json.dumps([record.request_id, [record.inputs.get(c) for c in columns]], default=str)


def shadow_stats(stores: Stores, candidate: ModelVersion, holder: ModelVersion) -> ShadowStats:
    """The candidate's shadow period against ``holder`` from the prediction log and the monitoring samples."""
    shadowed = [r for r in stores.predictions.recent(model_version=candidate.ref, limit=SHADOW_WINDOW)
                if r.role == "shadow" and r.request_id]
    errors = sum(int(s.value) for s in stores.monitoring.samples(candidate.ref, series=SHADOW_ERRORS))
    candidates = {r.request_id for r in shadowed}
    answered = [r for r in stores.predictions.recent(model_version=holder.ref, limit=SHADOW_WINDOW)
                if r.role != "shadow" and r.request_id in candidates]
    requests = {r.request_id for r in answered}  # shadowing this holder, not an earlier one
    shadowed = [r for r in shadowed if r.request_id in requests]
    times = [r.at for r in shadowed]
    columns = _common_inputs(candidate, holder)
    theirs: dict[str, list[Any]] = {}
    for record in answered:
        theirs.setdefault(_row_key(record, columns), []).append(record.outputs.get("prediction"))
    pairs: list[tuple[Any, Any]] = []
    for record in shadowed:
        answers = theirs.get(_row_key(record, columns))
        if answers:
            pairs.append((record.outputs.get("prediction"), answers.pop()))
    task = candidate.signature.get("task", "regression")
    return ShadowStats(len(requests), len(shadowed), (max(times) - min(times)) / 60 if times else 0.0, errors,
                       len(pairs), _prediction_drift(task, pairs))


def _common_inputs(candidate: ModelVersion, holder: ModelVersion) -> list[str]:
    names = [{c["name"] for c in v.signature.get("inputs", [])} for v in (candidate, holder)]
    return sorted(names[0] & names[1])


def _prediction_drift(task: str, pairs: list[tuple[Any, Any]]) -> float | None:
    if not pairs:
        return None
    if task == "classification":
        return sum(str(a) != str(b) for a, b in pairs) / len(pairs)
    new = [float(a) for a, _ in pairs]
    old = [float(b) for _, b in pairs]
    mean = sum(old) / len(old)
    spread = math.sqrt(sum((x - mean) ** 2 for x in old) / len(old))
    difference = sum(abs(a - b) for a, b in zip(new, old, strict=True)) / len(pairs)
    return difference / spread if spread > 0 else (0.0 if difference == 0 else math.inf)


def _shadow(stores: Stores, version: ModelVersion, target: str, gate: ShadowGate) -> list[dict[str, Any]]:
    rule = f"{target}.shadow"
    held = stores.registry.aliases(version.name).get(target)
    if held is None or held == version.version:
        return [_rule(rule, True, None, None, f"no other version holds @{target}: nothing to shadow")]
    holder = stores.registry.get_version(version.name, held)
    stats = shadow_stats(stores, version, holder)
    against = f"{version.ref} shadowing {holder.ref} (@{target})"
    wanted = [w for w in (f"{gate.requests} requests" if gate.requests is not None else "",
                          f"{gate.minutes:g} minutes" if gate.minutes is not None else "") if w]
    long_enough = ((gate.requests is not None and stats.requests >= gate.requests)
                   or (gate.minutes is not None and stats.minutes >= gate.minutes))
    by_requests = gate.requests is not None
    results = [_rule(f"{rule}.period", long_enough, float(stats.requests) if by_requests else stats.minutes,
                     float(gate.requests) if gate.requests is not None else gate.minutes,
                     f"{against}: {stats.requests} shadowed requests over {stats.minutes:.1f} minutes; the period "
                     f"needs {' or '.join(wanted)}"),
               _rule(f"{rule}.errors", stats.errors <= gate.max_errors, float(stats.errors), float(gate.max_errors),
                     f"{against}: {stats.errors} shadow failure(s) must be <= {gate.max_errors}")]
    if gate.max_prediction_drift is not None:
        drift, bound = stats.drift, gate.max_prediction_drift
        what = ("share of rows whose class differs" if version.signature.get("task") == "classification"
                else "mean |difference| over the holder's standard deviation")
        results.append(_rule(f"{rule}.prediction_drift", drift is not None and drift <= bound, drift, bound,
                             f"{against}: prediction drift ({what}) {_fmt(drift)} on {stats.paired} paired rows "
                             f"must be <= {bound:g}"))
    return results
