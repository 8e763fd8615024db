"""`project.training.train` on a client of a real server (`conveyor train` with CONVEYOR_SERVER): the search runs in
this process on the server's dataset version and its conveyor.yaml settings; the run, its artifacts and the model
version land on the server, whose gates decide what may be promoted."""

from __future__ import annotations

import pytest

from conveyor.client import connect
from conveyor.core.errors import CheckFailedError
from conveyor.project import Project


def test_training_on_a_client_logs_run_and_version_to_the_server(project: Project, server: str) -> None:
    project.configure("data", target="churn")  # the server's target: the client passes none
    project.configure("gates", min={"roc_auc": 0.5})
    data = project.data.get("churn@latest")
    trained_on = f"{data.name}@{data.version}"  # the server records the version it resolved, as a local run does
    try:
        with connect(server) as remote:
            result = remote.training.train("churn@latest", model_name="churn_client", max_trials=2, budget="20s",
                                           search="random", evaluate="basic")
            stored = project.models.get(result.model_version.ref)
            run = project.runs.get(result.run.id)
            # the run and the version are the server's records, linked to each other and to its dataset version
            assert stored.run_id == run.id and run.status == "finished" and run.dataset == trained_on
            assert stored.dataset == trained_on and run.tags["model_version"] == stored.ref
            assert run.params["target"] == "churn" and run.params["family"] == result.automl.family
            assert {"trials.json", "features.json", "evaluation.json", "model_card.json", "timings.json"} \
                <= set(run.artifacts)
            assert stored.metrics == pytest.approx(result.metrics) and "roc_auc" in run.metrics
            assert project.runs.evaluation(run.id)["holdout_rows"] > 0  # the report's source is on the server
            # no server job trained it, and the server's gates, not the client's, are on the version
            assert remote.connection.get("/jobs")["items"] == []
            assert [r["rule"] for r in result.failed_gates] == ["trained_on_server"]
            assert stored.meta["gates"] == result.gates
            with pytest.raises(CheckFailedError, match="trained_on_server"):
                remote.models.promote(stored.ref, "champion")
    finally:
        project.configure("gates", min=None)
        project.configure("data", target=None)
