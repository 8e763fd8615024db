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
