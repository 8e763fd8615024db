"""The feature store through the Python API and the CLI: views from YAML and Python, versions, joins with
lineage, materialisation and lookups on SQLite and a real Redis, and online values equal to the offline join."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import conveyor as cv
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.project.features import online_features
from conveyor.testing.online_store_contract import redis_server

T0 = pd.Timestamp("2026-03-01")

VIEW_YAML = """\
name: customer_stats
source: transactions
entity: customer_id
timestamp: ts
ttl: 30d
features:
  - {name: amount_last, column: amount}
  - {name: amount_sum_7d, column: amount, agg: sum, window: 7d}
"""

VIEW_PY = '''\
from conveyor.features.views import feature_view


@feature_view(source="transactions", entity="customer_id", timestamp="ts", ttl="10d",
              features=["big", {"name": "big_count_3d", "column": "big", "agg": "count", "window": "3d"}])
def spending(frame):
    """Large transactions."""
    return frame.assign(big=(frame["amount"] > 50).astype(int))
'''


def transactions(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"customer_id": rng.choice([f"c{i}" for i in range(30)], n),
                         "ts": T0 + pd.to_timedelta(rng.integers(0, 60 * 24 * 3600, n), "s"),
                         "amount": rng.gamma(2, 30, n).round(2)})


def entity_rows(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"customer_id": rng.choice([f"c{i}" for i in range(35)], n),  # c30..c34 never seen
                         "ts": T0 + pd.to_timedelta(rng.integers(0, 100 * 24 * 3600, n), "s"),
                         "label": rng.integers(0, 2, n)})


@pytest.fixture
def project(tmp_path):
    with cv.Project.init(tmp_path / "p", name="shop") as proj:
        (proj.root / "features").mkdir()
        (proj.root / "features" / "customer_stats.yaml").write_text(VIEW_YAML)
        (proj.root / "features" / "spending.py").write_text(VIEW_PY)
        proj.data.ingest(transactions(), "transactions")
        proj.data.ingest(entity_rows(), "labels")
        yield proj


def cli(root, *args):
    done = subprocess.run([sys.executable, "-m", "conveyor", *args, "--project", str(root)], capture_output=True,
                          text=True, timeout=120, check=False)
    return done


def test_views_are_versioned_by_definition_and_source_version(project):
    applied = {v.view: (v, created) for v, created in project.features.apply()}
    assert set(applied) == {"customer_stats", "spending"} and all(c for _, c in applied.values())
    first = applied["customer_stats"][0]
    assert first.source == f"transactions@{project.data.get('transactions').version}"
    again = dict((v.view, c) for v, c in project.features.apply())
    assert again == {"customer_stats": False, "spending": False}
    project.data.ingest(transactions(seed=2), "transactions")  # new source version -> new view version
    (second, created), = project.features.apply(["customer_stats"])
    assert created and second.definition_hash == first.definition_hash and second.version != first.version
    (project.root / "features" / "customer_stats.yaml").write_text(VIEW_YAML.replace("30d", "14d"))
    listed = {v["view"]: v for v in project.features.list()}
    assert listed["customer_stats"]["changed_since_apply"] and not listed["spending"]["changed_since_apply"]
    (third, _), = project.features.apply(["customer_stats"])
    assert third.definition_hash != first.definition_hash
    shown = project.features.show("customer_stats")
    assert [v["version"] for v in shown["versions"]] == [first.version, second.version, third.version]
    assert shown["definition"]["ttl"] == "2w" and shown["origin"] == "features/customer_stats.yaml"
    assert project.features.views()["spending"].description == "Large transactions."


def test_a_join_keeps_every_row_and_records_its_lineage(project):
    version = project.features.join_to_dataset("labels", ["customer_stats", "spending:big"], "training")
    frame = project.data.load_frame(version)
    labels = project.data.load_frame("labels")
    assert len(frame) == len(labels) and frame["label"].tolist() == labels["label"].tolist()
    assert list(frame.columns) == ["customer_id", "ts", "label", "amount_last", "amount_sum_7d",
                                   "customer_stats__found", "big", "spending__found"]
    unseen = frame["customer_id"].isin([f"c{i}" for i in range(30, 35)])
    assert unseen.any() and not frame.loc[unseen, "customer_stats__found"].any()
    assert frame.loc[~frame["customer_stats__found"], "amount_last"].isna().all()
    assert frame["customer_stats__found"].any()
    source = project.data.get("transactions")
    assert version.parents == [f"labels@{project.data.get('labels').version}", f"transactions@{source.version}"]
    views = version.meta["operation"]["views"]
    assert [v["view"] for v in views] == ["customer_stats", "spending"] and views[1]["features"] == ["big"]
    assert project.data.lineage("transactions")["children"] == [f"training@{version.version}"]


def test_online_values_equal_the_offline_join_at_the_same_time(project):
    at = T0 + pd.Timedelta("40D")
    done = project.features.materialize("customer_stats", at=at.isoformat())
    keys = [f"c{i}" for i in range(35)]
    offline = project.features.join(pd.DataFrame({"customer_id": keys, "ts": [at] * len(keys)}),
                                    ["customer_stats"])
    online = online_features(project, [{"customer_id": k} for k in keys], ["customer_stats"])
    assert done["written"] == int(offline["customer_stats__found"].sum()) > 0
    for row, (_, expected) in zip(online, offline.iterrows(), strict=True):
        assert row["customer_stats__found"] == expected["customer_stats__found"]
        for name in ("amount_last", "amount_sum_7d"):
            assert (row[name] is None) == pd.isna(expected[name])
            if row[name] is not None:
                assert row[name] == pytest.approx(expected[name])
    assert project.features.get("customer_stats", [("c31",)]) == [None]
    every = project.features.online_features([{"customer_id": "c1"}])  # default: every declared view
    assert {"customer_stats__found", "spending__found", "big"} <= set(every[0])
    shown = project.features.show("customer_stats")
    assert shown["versions"][-1]["materialized"][-1]["written"] == done["written"]


def test_materialize_to_a_real_redis_from_the_config(project, tmp_path):
    with redis_server(tmp_path) as url:
        project.configure("features", online_store="redis", online_url=url)
        done = project.features.materialize("spending", at=(T0 + pd.Timedelta("20D")).isoformat())
        assert done["store"] == "redis" and done["written"] > 0
        got = project.features.get("spending", [("c0",), ("c99",)])
        expected = project.features.join(pd.DataFrame({"customer_id": ["c0"], "ts": [T0 + pd.Timedelta("20D")]}),
                                         ["spending"])
        assert got[1] is None
        if expected["spending__found"].iloc[0]:
            assert got[0] == {"big": int(expected["big"].iloc[0]), "big_count_3d": int(expected["big_count_3d"]
                                                                                          .iloc[0])}
        else:
            assert got[0] is None


def test_mistakes_are_named(project):
    with pytest.raises(NotFoundError, match="customer_stats"):
        project.features.join("labels", ["customer_stat"])
    with pytest.raises(BadInputError, match="no feature 'nope'"):
        project.features.join("labels", ["customer_stats:nope"])
    with pytest.raises(BadInputError, match="1 key column"):
        project.features.get("customer_stats", [("a", "b")])
    (project.root / "features" / "broken.yaml").write_text(VIEW_YAML.replace("name: customer_stats", "name: b2")
                                                           .replace("agg: sum", "agg: median"))
    with pytest.raises(BadInputError, match=r"broken\.yaml.*median"):
        project.features.apply()


@pytest.mark.slow  # seven CLI processes
def test_the_cli_verbs(project, tmp_path):
    root = project.root
    done = cli(root, "features", "apply", "--json")
    assert done.returncode == 0, done.stderr
    assert {v["view"] for v in json.loads(done.stdout)} == {"customer_stats", "spending"}
    listed = cli(root, "features", "list")
    assert listed.returncode == 0 and "customer_stats" in listed.stdout and "spending" in listed.stdout
    out = tmp_path / "train.csv"
    joined = cli(root, "features", "join", "labels", "--features", "customer_stats:amount_last",
                 "--features", "spending", "--out", str(out))
    assert joined.returncode == 0, joined.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 80 and {"amount_last", "customer_stats__found", "big", "spending__found"} <= set(frame)
    mat = cli(root, "features", "materialize", "customer_stats", "--at", "2026-04-10T00:00:00", "--json")
    assert mat.returncode == 0, mat.stderr
    got = cli(root, "features", "get", "customer_stats", "c1", "c77", "--json")
    rows = json.loads(got.stdout)
    assert [r["found"] for r in rows] == [True, False] and json.loads(mat.stdout)["written"] > 0
    assert set(rows[0]["values"]) == {"amount_last", "amount_sum_7d"} and rows[0]["values"]["amount_last"] > 0
    bad = cli(root, "features", "join", "labels", "--features", "customer_stat", "--out", str(out))
    assert bad.returncode == 2 and "customer_stats" in bad.stderr and "Traceback" not in bad.stderr
    both = cli(root, "features", "join", "labels", "--features", "spending")
    assert both.returncode == 2 and "--out" in both.stderr
