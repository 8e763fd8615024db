"""How the importer writes the records MLflow's reader hands it (no MLflow needed): NaN metric values, which
Conveyor's SQL stores cannot hold, are left out and named, and an import stopped half way resumes its run."""

from __future__ import annotations

from conveyor.core.entities import Metric, Run
from conveyor.interop.mlflow.importer import IMPORT_TAG, ImportSummary, _Importer
from conveyor.testing.store_records import model


def run_record(**changes):
    record = {"kind": "run", "id": "f" * 32, "experiment_id": "1", "experiment": "churn", "name": "r",
              "status": "FINISHED", "start_time": 1_000_000, "end_time": 1_005_000, "lifecycle_stage": "active",
              "params": {"p": "1"}, "tags": {"t": "x"}, "artifacts": "/nonexistent",
              "metrics": {"loss": [[0.5, 0, 1000], [float("nan"), 1, 2000], [0.25, 2, 3000]]}}
    return {**record, **changes}


def test_nan_metric_values_are_left_out_and_named(stores):
    summary = ImportSummary(source="test")
    _Importer(stores, summary, lambda kind, n: None).consume([
        {"kind": "experiment", "id": "1", "name": "churn", "lifecycle_stage": "active", "tags": {}}, run_record()])
    assert [(m.value, m.step, m.timestamp) for m in stores.runs.metric_history("f" * 32, "loss")] == [
        (0.5, 0, 1.0), (0.25, 2, 3.0)]
    assert summary.added["metric values"] == 2
    assert summary.skipped == [f"run {'f' * 32}: 1 NaN value(s) of metric 'loss' (not stored)"]


def test_a_run_left_partial_is_completed_without_doubling_its_history(stores):
    stores.runs.create(Run(id="f" * 32, name="r", tags={IMPORT_TAG: "partial"}))
    stores.runs.log_metrics("f" * 32, [Metric("loss", 0.5, 0, 1.0)])
    summary = ImportSummary(source="test")
    _Importer(stores, summary, lambda kind, n: None).consume([
        {"kind": "experiment", "id": "1", "name": "churn", "lifecycle_stage": "active", "tags": {}},
        run_record(metrics={"loss": [[0.5, 0, 1000]], "acc": [[0.9, 0, 1000]]})])
    run = stores.runs.get("f" * 32)
    assert run.tags[IMPORT_TAG] == "complete" and run.params == {"p": "1"}
    assert len(stores.runs.metric_history("f" * 32, "loss")) == 1
    assert [m.value for m in stores.runs.metric_history("f" * 32, "acc")] == [0.9]
    assert (summary.added["metric values"], summary.existing["metric values"]) == (1, 1)


def test_a_registered_models_description_and_tags_are_carried_once(stores):
    stores.registry.create_version(model("churn"))
    record = {"kind": "model", "name": "churn", "description": "the churn model", "tags": {"team": "risk"},
              "aliases": {}}
    for expected in [(1, 0), (0, 1)]:  # the second import adds nothing
        summary = ImportSummary(source="test")
        _Importer(stores, summary, lambda kind, n: None).consume([record])
        assert (summary.added["model notes"], summary.existing["model notes"]) == expected
    (note,) = stores.registry.notes("churn")
    assert (note.version, note.description, note.tags) == (0, "the churn model", {"team": "risk"})
