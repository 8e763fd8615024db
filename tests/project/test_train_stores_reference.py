"""Training stores the new version's reference statistics itself, inside its budget, from the rows and the model it
has in memory: `conveyor train` used to compute them after the run was stored, reading the data and the model back,
and a 10 s budget on a 30-class model ended at 13 s. They are the statistics a later `monitor` compares with: the
same as computing them from the stores afterwards would give."""

from __future__ import annotations

import numpy as np
import pandas as pd

import conveyor as cv
from conveyor.monitor.monitoring import reference_stats
from conveyor.monitor.reference import SAMPLE_ROWS
from conveyor.store.sql.maintenance import maintenance_of


def rows(n: int = 2600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(0, 1, n), "plan": rng.choice(["basic", "plus", "pro"], n)})
    frame["label"] = np.where(frame["x"] + (frame["plan"] == "pro") + rng.normal(0, 0.5, n) > 0.5, "yes", "no")
    return frame


def test_training_stores_the_reference_inside_its_budget_as_monitoring_would_compute_it(tmp_path):
    with cv.Project.init(tmp_path) as project:
        version, _ = project.data.ingest(rows(), "signups")
        trained = project.training.train(version, "label", model_name="signups", max_trials=2, budget=60)
        model = project.models.get(trained.model_version.ref)
        stored = project.stores.monitoring.get_reference_stats(model.ref)
        assert stored is not None  # nothing asked for them after training: the trainer stored them
        # what the monitor computes from the stores (the data and the model read back) is the same
        maintenance_of(project.stores.monitoring, "the test").delete_reference_stats([model.ref])
        recomputed = reference_stats(project.stores, model)
    assert stored == recomputed
    assert stored["dataset"] == version.ref and stored["rows"] == 2600
    assert set(stored["columns"]) == {"x", "plan"}
    assert stored["prediction"]["kind"] == "categorical"  # the model's classes on the sampled rows
    assert stored["prediction"]["rows"] == SAMPLE_ROWS
    # its seconds are the store phase's, which the budget counts
    assert trained.automl.timings["store"] > 0 and trained.automl.timings["total"] <= 60 * 1.1
