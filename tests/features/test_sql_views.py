"""SQL feature views run by DuckDB over the source version's Parquet: point-in-time correct like the Python ones
(checked against the Python transform and a brute-force oracle), versioned by their query, served online with
the same values, and their mistakes named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_feature_store import T0, VIEW_PY, cli, entity_rows, transactions

import conveyor as cv
from conveyor.core.errors import BadInputError
from conveyor.features.views import FeatureView, view_from_dict

SQL_VIEW = """\
name: spending_sql
source: transactions
entity: customer_id
timestamp: ts
ttl: 10d
sql: |
  SELECT customer_id, ts, CAST(amount > 50 AS INTEGER) AS big,
         SUM(amount) OVER (PARTITION BY customer_id ORDER BY ts, amount
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total
  FROM source
features:
  - big
  - {name: big_count_3d, column: big, agg: count, window: 3d}
  - running_total
"""


@pytest.fixture
def project(tmp_path):
    with cv.Project.init(tmp_path / "p", name="shop") as proj:
        (proj.root / "features").mkdir()
        (proj.root / "features" / "spending_sql.yaml").write_text(SQL_VIEW)
        (proj.root / "features" / "spending.py").write_text(VIEW_PY)
        proj.data.ingest(transactions(), "transactions")
        proj.data.ingest(entity_rows(), "labels")
        yield proj


def test_a_sql_view_joins_like_the_same_view_written_in_python(project):
    sql = project.features.join("labels", ["spending_sql:big,big_count_3d"])
    python = project.features.join("labels", ["spending"])
    assert len(sql) == 80 and sql["label"].tolist() == python["label"].tolist()
    found = sql["spending_sql__found"]
    assert found.tolist() == python["spending__found"].tolist() and found.any() and not found.all()
    for name in ("big", "big_count_3d"):
        assert sql[name].isna().tolist() == (~found).tolist()
        assert sql.loc[found, name].tolist() == python.loc[found, name].tolist()


def test_a_sql_window_function_only_sees_the_past(project):
    """running_total is, for each entity row, the sum of the customer's amounts up to the latest source row at or
    before the row's time (brute force): rows after the entity row's time never leak in."""
    joined = project.features.join("labels", ["spending_sql:running_total"])
    source = transactions().sort_values(["customer_id", "ts", "amount"])
    for _, row in joined.iterrows():
        past = source[(source.customer_id == row.customer_id) & (source.ts <= row.ts)]
        fresh = not past.empty and (row.ts - past.ts.max()) <= pd.Timedelta("10D")
        assert bool(row["spending_sql__found"]) == fresh
        if fresh:
            assert row["running_total"] == pytest.approx(past.amount.sum())
        else:
            assert pd.isna(row["running_total"])


def test_the_query_is_part_of_the_version_and_online_values_match(project):
    first = {v.view: v for v, _ in project.features.apply(["spending_sql"])}["spending_sql"]
    assert first.definition["sql"].startswith("SELECT customer_id")
    (project.root / "features" / "spending_sql.yaml").write_text(SQL_VIEW.replace("amount > 50", "amount > 60"))
    second = {v.view: v for v, _ in project.features.apply(["spending_sql"])}["spending_sql"]
    assert second.definition_hash != first.definition_hash and second.source == first.source
    at = T0 + pd.Timedelta("30D")
    project.features.materialize("spending_sql", at=at.isoformat())
    keys = [f"c{i}" for i in range(32)]
    offline = project.features.join(pd.DataFrame({"customer_id": keys, "ts": [at] * len(keys)}), ["spending_sql"])
    online = project.features.online_features([{"customer_id": k} for k in keys], ["spending_sql"])
    assert [r["spending_sql__found"] for r in online] == offline["spending_sql__found"].tolist()
    for row, (_, expected) in zip(online, offline.iterrows(), strict=True):
        for name in ("big", "big_count_3d", "running_total"):
            assert (row[name] is None) == pd.isna(expected[name])
            if row[name] is not None:
                assert row[name] == pytest.approx(expected[name])


def test_sql_mistakes_are_named(project):
    folder = project.root / "features"
    (folder / "spending_sql.yaml").write_text(SQL_VIEW.replace("FROM source", "FROM sourse"))
    with pytest.raises(BadInputError, match=r"SQL of feature view 'spending_sql' failed.*sourse"):
        project.features.apply(["spending_sql"])
    (folder / "spending_sql.yaml").write_text(SQL_VIEW.replace("SELECT customer_id, ts,", "SELECT customer_id,"))
    with pytest.raises(BadInputError, match=r"spending_sql.*no column 'ts'"):
        project.features.apply(["spending_sql"])
    with pytest.raises(BadInputError, match="both a transform and sql"):
        FeatureView(name="x", source="t", entity="k", timestamp="ts", features=["a"], sql="SELECT 1",
                    transform=lambda f: f)
    with pytest.raises(BadInputError, match="non-empty"):
        view_from_dict({"name": "x", "source": "t", "entity": "k", "timestamp": "ts", "features": ["a"],
                        "sql": "  "}, "features/x.yaml")


def test_the_dataset_name_is_a_table_too(project):
    view = FeatureView(name="named", source="transactions", entity="customer_id", timestamp="ts",
                       features=["amount2"], sql="SELECT customer_id, ts, amount * 2 AS amount2 FROM transactions")
    from conveyor.features.offline import source_rows

    rows = source_rows(view, transactions(), "transactions@x")
    assert np.allclose(rows["amount2"].to_numpy(), transactions()["amount"].to_numpy() * 2)


@pytest.mark.slow  # two CLI processes
def test_the_cli_applies_and_shows_a_sql_view(project):
    done = cli(project.root, "features", "apply", "spending_sql", "--json")
    assert done.returncode == 0, done.stderr
    assert [v["view"] for v in json.loads(done.stdout)] == ["spending_sql"]
    shown = cli(project.root, "features", "show", "spending_sql", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "OVER (PARTITION BY customer_id" in json.loads(shown.stdout)["definition"]["sql"]
