"""One contract for both modes: the same verbs on a local project and on a `conveyor server` (through
``conveyor.client``) give the same results, and fail with the same errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor.client import connect
from conveyor.core.errors import ConveyorError
from conveyor.project import Project


def scenario(api: Any, frame_of: Callable[..., Any]) -> dict[str, Any]:
    """What a user sees doing the same things on ``api`` (a Project or a RemoteProject)."""
    seen: dict[str, Any] = {}
    first, created = api.data.ingest(frame_of(seed=0), "churn")
    second, _ = api.data.ingest(frame_of(seed=1), "churn")
    again, created_again = api.data.ingest(frame_of(seed=0), "churn")
    seen["ingest"] = (first.version, created, second.version, again.version, created_again)
    seen["list"] = [(v.name, v.version, v.rows, v.columns) for v in api.data.list("churn")]
    shown = api.data.get("churn@latest")
    seen["show"] = (shown.version, shown.rows, shown.profile)
    seen["log"] = [(e.get("version"), e.get("rows")) for e in api.data.log("churn")]
    seen["diff"] = api.data.diff(first.ref, second.ref)
    seen["split"] = [v.version for v in api.data.split("churn@latest", test_fraction=0.25, seed=3)]
    seen["filter"] = api.data.filter("churn@latest", "age > 40", "older").rows
    seen["frame"] = api.data.load_frame(first.ref).to_dict("list")
    seen["lineage"] = sorted(api.data.lineage("churn.train@latest")["parents"])
    seen["promote"] = api.models.promote("churn:1", "champion").version
    seen["promote2"] = (lambda c: (c.version, c.previous))(api.models.promote("churn:2", "champion", reason="r"))
    seen["rollback"] = api.models.rollback("churn", "champion").version
    seen["aliases"] = api.models.aliases("churn")
    seen["alias_history"] = [(c.version, c.previous) for c in api.models.alias_history("churn", "champion")]
    seen["samples"] = api.monitoring.samples("churn:1")
    seen["models"] = [(m.ref, m.flavor, m.signature) for m in api.models.list()]
    seen["resolve"] = api.models.get("churn@champion").ref
    seen["audit"] = [(a.action, a.subject) for a in api.models.audit()]
    seen["verify"] = api.models.verify()
    loaded = api.models.load("churn@champion")
    seen["predict"] = [float(p) for p in loaded.predict(frame_of(n=10)[["age", "income"]])]
    seen["card"] = sorted(api.models.card("churn:1"))
    seen["alerts"] = api.monitoring.alerts()
    seen["budget"] = api.training.budget("90s")
    errors = {}
    for name, call in {"unknown dataset": lambda: api.data.get("chrn"),
                       "unknown model": lambda: api.models.get("chrn@champion"),
                       "unknown run": lambda: api.runs.get("zzzzzzzz"),
                       "bad split": lambda: api.data.filter("churn@latest", "age >>> 1", "x"),
                       "unknown alias": lambda: api.models.rollback("churn", "nope")}.items():
        with pytest.raises(ConveyorError) as caught:
            call()
        errors[name] = (type(caught.value).__name__, caught.value.message, caught.value.field, caught.value.hint)
    seen["errors"] = errors
    return seen


def test_local_and_remote_agree(served: tuple[Path, str], tmp_path: Path, seeded_project, churn_frame) -> None:
    _root, url = served
    with Project.open(seeded_project(tmp_path / "local")) as local:
        expected = scenario(local, churn_frame)
    with connect(url) as remote:
        got = scenario(remote, churn_frame)
    for key in expected:
        assert got[key] == expected[key], key


def tracking(api: Any, frame_of: Callable[..., Any], workdir: Path) -> dict[str, Any]:
    """A user's own training code tracking its run on ``api`` (``project.runs.start()``), then reading it back."""
    from sklearn.linear_model import LogisticRegression

    frame = frame_of(n=60, seed=4)
    data, _ = api.data.ingest(frame, "tracked")
    (workdir / "notes.txt").write_text("seen on both sides")
    with api.runs.start(name="mine", dataset="tracked", tags={"team": "churn"}) as run:
        run.log_params({"C": 0.5, "penalty": "l2"})
        run.log_param("solver", "lbfgs")
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metrics({"auc": 0.75, "acc": 0.7}, step=2)
        run.log_batch([("lr", 0.1, 0), ("lr", 0.05, 1)])
        run.set_tags({"stage": "tuning"})
        run.log_artifact("notes.txt", workdir / "notes.txt")
        run.log_artifact("config.json", {"C": 0.5})
        run.log_artifact("raw.bin", b"\x00\x01binary")
        model = LogisticRegression(C=0.5).fit(frame[["age", "income"]], frame["churn"])
        version = run.log_model(model, "tracked", input_example=frame[["age", "income"]].head(5))
    with pytest.raises(ZeroDivisionError), api.runs.start(name="broken") as failing:
        failing.log_metric("partial", 1.0)
        _ = 1 / 0
    shown = api.runs.get(run.id)
    failed = api.runs.get(failing.id)
    loaded = api.models.load("tracked:1")
    mine = {k: v for k, v in shown.tags.items() if k in ("team", "stage", "model_version")}
    return {"run": (shown.name, shown.status, shown.dataset == f"tracked@{data.version}", shown.params,
                    shown.metrics, sorted(shown.artifacts.items()), mine, "git.commit" in shown.tags
                    or "python" in shown.tags, shown.ended_at is not None),
            "history": [(m.key, m.value, m.step) for m in api.runs.metric_history(run.id, "loss")],
            "lr": [(m.value, m.step) for m in api.runs.metric_history(run.id, "lr")],
            "listed": [r.id for r in api.runs.list(dataset="tracked")] == [run.id],
            "failed": (failed.status, failed.tags.get("error"), failed.metrics),
            "model": (version.ref, version.flavor, version.signature, version.metrics, version.run_id == run.id,
                      version.dataset == shown.dataset),
            "predict": [float(p) for p in loaded.predict(frame[["age", "income"]].head(8))],
            "resolve": api.runs.resolve("tracked:1").id == run.id}


def test_tracked_runs_agree(served: tuple[Path, str], tmp_path: Path, seeded_project, churn_frame) -> None:
    """`project.runs.start()` records the same run, metrics history, artifacts and model on a server as locally."""
    _root, url = served
    with Project.open(seeded_project(tmp_path / "local")) as local:
        expected = tracking(local, churn_frame, tmp_path)
    with connect(url) as remote:
        got = tracking(remote, churn_frame, tmp_path)
    assert expected["run"][1] == "finished" and expected["failed"][0] == "failed"
    assert expected["history"] == [("loss", 1.0, 0), ("loss", 0.5, 1), ("loss", 1 / 3, 2)]
    for key in expected:
        assert got[key] == expected[key], key


def serving(api: Any, frame_of: Callable[..., Any]) -> dict[str, Any]:
    """What a serving app built on ``api`` answers for churn@champion (the same version promoted on both)."""
    import httpx

    from conveyor.serve import running_server

    api.models.promote("churn:1", "champion", reason="serve it")
    rows = frame_of(n=7, seed=11)[["age", "income"]]
    with running_server(api.serving_app("churn@champion", log_predictions=False)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/health").json()
        answer = client.post("/invocations", json={"dataframe_split": {"columns": list(rows.columns),
                                                                        "data": rows.values.tolist()}})
        refused = client.post("/invocations", json={"dataframe_split": {"columns": ["age"], "data": [[1]]}})
    return {"health": health["model_version"], "status": answer.status_code,
            "version": answer.headers["X-Model-Version"], "predictions": answer.json()["predictions"],
            "refused": (refused.status_code, refused.json().get("error"))}


def test_serving_agrees(served: tuple[Path, str], tmp_path: Path, seeded_project, churn_frame) -> None:
    """A serving app over the server's registry answers as one over the local registry."""
    _root, url = served
    with Project.open(seeded_project(tmp_path / "local")) as local:
        expected = serving(local, churn_frame)
    with connect(url) as remote:
        got = serving(remote, churn_frame)
    assert expected["status"] == 200 and expected["version"] == "churn:1" and expected["refused"][0] == 422
    assert got == expected
