"""`conveyor reproduce RUN`: train again from what a run recorded (its dataset version, task, target, metric,
search, seed and trial budget) and compare the holdout metrics. With a fixed trial count the search is
deterministic and the metrics must be equal; under a time budget the number of trials may differ, so the
difference is shown."""

from __future__ import annotations

import math
from typing import Any

from conveyor.core.errors import BadInputError

__all__ = ["reproduce_run"]


def _int(value: Any) -> int | None:
    return None if value in (None, "", "None") else int(float(value))


def reproduce_run(project: Any, run_id: str) -> dict[str, Any]:
    run = project.runs.get(run_id)
    params = run.params or {}
    if not run.dataset or not params.get("target"):
        raise BadInputError(f"Run {run.id[:12]} records no dataset or target to train from.", field="run",
                            hint="Reproduce a run made by `conveyor train`.")
    produced = [v for v in project.stores.registry.versions() if v.run_id == run.id]
    if not produced:
        raise BadInputError(f"Run {run.id[:12]} registered no model version to compare with.", field="run")
    original = produced[0]
    max_trials = _int(params.get("max_trials"))
    result = project.training.train(run.dataset, params["target"], model_name=f"{original.name}-reproduced",
                                    task=params.get("task"), metric=params.get("metric"),
                                    budget=float(params.get("budget_seconds") or 60), max_trials=max_trials,
                                    search=params.get("search"), seed=_int(params.get("seed")) or 0)
    reproduced = result.model_version.metrics
    keys = sorted(set(original.metrics) | set(reproduced))
    difference = {k: (reproduced[k] - original.metrics[k]) if k in reproduced and k in original.metrics else None
                  for k in keys}
    equal = all(d is not None and (d == 0 or math.isclose(reproduced[k], original.metrics[k], rel_tol=1e-9,
                                                          abs_tol=1e-12)) for k, d in difference.items())
    return {"run": run.id, "model_version": original.ref, "reproduced_run": result.run.id,
            "reproduced_version": result.model_version.ref, "dataset": run.dataset, "fixed_trials": max_trials,
            "original": original.metrics, "reproduced": reproduced, "difference": difference, "equal": equal}
