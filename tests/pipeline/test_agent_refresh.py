"""retrain.refresh: before its checks the agent runs the query of the training data's newest version again through
its stored connection, so new rows in the source become a new version that the new_data trigger sees; a source
that cannot be read is reported in the tick's outcome, never raised."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from conveyor.project import Project
from conveyor.registry.models import register_model

KEY = base64.b64encode(b"r" * 32).decode()


def source_with_rows(path: Path, rows: int) -> str:
    engine = sa.create_engine(f"sqlite:///{path}")
    frame = pd.DataFrame({"x": range(rows), "y": [i % 2 for i in range(rows)]})
    frame.to_sql("events", engine, if_exists="replace", index=False)
    engine.dispose()
    return f"sqlite:///{path}"


def test_the_agent_refreshes_its_training_data_through_the_connection(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", KEY)
    url = source_with_rows(tmp_path / "source.db", 40)
    with Project.init(tmp_path / "p") as project:
        project.connections.add("events", url)
        first, _ = project.connections.ingest("events", "SELECT x, y FROM events", "events")
        frame = project.data.load_frame(first.ref)
        model = LogisticRegression().fit(frame[["x"]], frame["y"])
        version = register_model(project.stores, model, "clicks", input_example=frame[["x"]].head(3),
                                 dataset=first.ref)
        project.models.promote(version.ref, "champion")
        project.configure("retrain", model="clicks", on=["new_data"], refresh=True)

    source_with_rows(tmp_path / "source.db", 60)  # the source grew
    with Project.open(tmp_path / "p") as project:
        agent = project.monitoring.agent()
        champion = project.models.get("clicks@champion")
        refreshed = agent.refresh(champion)
        assert refreshed["created"] is True and refreshed["connection"] == "events"
        assert project.data.get("events@latest").rows == 60
        _fired, _checks = agent.check_triggers(champion)
        assert "new_data" in _fired
        again = agent.refresh(champion)
        assert again["created"] is False  # an unchanged source adds nothing

        (tmp_path / "source.db").unlink()
        (tmp_path / "source.db").mkdir()  # the source cannot be opened any more
        broken = agent.refresh(champion)
        assert broken["error"].startswith("The SQL query failed"), broken
        assert project.data.get("events@latest").rows == 60


def test_refresh_skips_data_that_no_connection_made(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p") as project:
        ds, _ = project.data.ingest(pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]}), "plain")
        model = LogisticRegression().fit(pd.DataFrame({"x": [1, 2, 3, 4]}), [0, 1, 0, 1])
        version = register_model(project.stores, model, "m", input_example=pd.DataFrame({"x": [1]}), dataset=ds.ref)
        project.models.promote(version.ref, "champion")
        project.configure("retrain", model="m", refresh=True)
        outcome = project.monitoring.agent().refresh(project.models.get("m@champion"))
        assert outcome == {"dataset": "plain", "skipped": "not made through a stored connection"}
