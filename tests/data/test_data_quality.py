"""Profiles, diffs (table and HTML), lineage of derived datasets, and personal data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError
from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.data.diff import diff_html, diff_versions
from conveyor.data.intake import ingest_checked
from conveyor.data.lineage import build_features, filter_rows, join, lineage, split
from conveyor.data.pii import luhn_ok, scan_frame
from conveyor.project import Project
from conveyor.testing.browser import screenshot


def _frame(seed: int, shift: float = 0.0, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "y": rng.integers(0, 5, n),
                         "plan": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1] if not shift else [0.2, 0.3, 0.5])})


def test_profile_has_every_statistic(stores):
    version, _ = ingest_frame(stores, _frame(0).assign(when=pd.Timestamp("2024-01-01")), "p")
    x = version.profile["columns"]["x"]
    for key in ("count", "nulls", "distinct", "min", "max", "mean", "std", "quantiles", "histogram"):
        assert x[key] is not None, key
    assert len(x["quantiles"]) == 1001 and sum(x["histogram"]["counts"]) == 3000
    plan = version.profile["columns"]["plan"]
    assert plan["distinct"] == 3 and abs(sum(plan["top"].values()) - 1) < 1e-9
    assert version.profile["columns"]["when"]["min"].startswith("2024-01-01")


def test_diff_finds_shift_and_schema_changes(stores, tmp_path):
    a, _ = ingest_frame(stores, _frame(0), "d")
    same, _ = ingest_frame(stores, _frame(1), "d")
    b, _ = ingest_frame(stores, _frame(2, shift=1.0, n=2500).drop(columns=["y"]).assign(z=1.0), "d")
    quiet = diff_versions(a, same)
    assert quiet["drifted"] == quiet["shifted"] == [] and quiet["rows_change"] == 0
    moved = diff_versions(a, b)
    assert moved["rows_change"] == -500
    assert moved["schema"] == {"added": ["z"], "removed": ["y"], "type_changed": []}
    assert set(moved["drifted"]) == set(moved["shifted"]) == {"x", "plan"}
    x = next(c for c in moved["columns"] if c["column"] == "x")
    assert x["method"] == "wasserstein" and x["score"] > 0.2 and x["drifted"] and x["ks"] > 0.2
    assert x["psi"] > 0.2 and x["detail"]["ks"] == x["ks"] and x["shifted"]  # the older keys, kept one release
    assert (x["mean_ref"], x["mean_cur"]) == (x["mean_before"], x["mean_after"])
    page = diff_html(moved, a, b)
    assert "http://" not in page and "https://" not in page and page.count('class="cv-chart"') == 2
    html_path = tmp_path / "diff.html"
    html_path.write_text(page)
    shot = screenshot(html_path, tmp_path / "diff.png", height=900)
    assert shot.png.stat().st_size > 5000 and not [m for m in shot.console if "rror" in m]
    assert shot.title == f"Diff {a.ref} vs {b.ref}" and shot.headings[0] == f"{a.ref} \u2192 {b.ref}"
    assert len(re.findall(r'data-drawn="[1-9]', shot.dom)) == 2  # both charts drawn by the browser


def test_lineage_of_derived_datasets(stores):
    base, _ = ingest_frame(stores, _frame(0), "base")
    other, _ = ingest_frame(stores, pd.DataFrame({"y": range(5), "label": list("abcde")}), "labels")
    kept = filter_rows(stores, base, "x > 0", "positive")
    train, test = split(stores, base, test_fraction=0.25, seed=3)
    joined = join(stores, base, other, ["y"], "joined")
    features = build_features(stores, base, lambda f: f.assign(x2=f["x"] ** 2), "features")
    full = f"base@{base.version}"
    assert kept.parents == [full] and kept.meta["operation"] == {"op": "filter", "query": "x > 0"}
    assert (train.rows, test.rows) == (2250, 750) and train.name == "base.train"
    assert joined.parents == [full, f"labels@{other.version}"] and "label" in load_frame(stores, joined)
    assert features.meta["operation"]["op"] == "features"
    assert (load_frame(stores, kept)["x"] > 0).all()

    from conveyor.train.tracking import start_run

    with start_run(stores, name="fit", dataset=base) as run:
        run.log_metrics({"acc": 0.9})
    stores.registry.create_version(ModelVersion(name="m", version=0, artifact="0" * 64, flavor="sklearn",
                                                      run_id=run.id, dataset=full, signature={}))
    found = lineage(stores, base)
    assert found["parents"] == []
    assert set(found["children"]) == {f"{v.name}@{v.version}" for v in (kept, train, test, joined, features)}
    assert found["runs"] == [run.id] and found["models"] == ["m:1"]
    assert lineage(stores, kept)["parents"] == [full]


def test_bad_derivations_are_named(stores):
    base, _ = ingest_frame(stores, _frame(0), "base")
    with pytest.raises(BadInputError, match="Cannot filter"):
        filter_rows(stores, base, "nope >", "x")
    with pytest.raises(BadInputError, match="no column 'id' to join on"):
        join(stores, base, base, ["id"], "x")
    with pytest.raises(BadInputError, match="between 0 and 1"):
        split(stores, base, test_fraction=1.5)


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")


def test_scan_flags_personal_columns():
    n = 50
    frame = pd.DataFrame({
        "contact": [f"user{i}@example.org" for i in range(n)],
        "phone": [f"+49 30 {1000000 + i}" for i in range(n)],
        "card": ["4111 1111 1111 1111", "5500-0000-0000-0004"] * (n // 2),
        "fake_card": ["4111 1111 1111 1112"] * n,
        "ip": [f"10.0.{i}.1" for i in range(n)],
        "customer_name": ["Ada Lovelace"] * n,
        "amount": np.linspace(1, 2, n),
        "order_id": range(n),
    })
    found = {f["column"]: f["kind"] for f in scan_frame(frame)}
    assert found == {"contact": "email", "phone": "phone", "card": "card_number", "ip": "ip_address",
                     "customer_name": "person_name"}


def test_ingest_drops_or_hashes_personal_data(stores, monkeypatch):
    frame = pd.DataFrame({"email": ["a@b.co", "c@d.io", "a@b.co"], "spend": [1.0, 2.0, 3.0]})
    dropped, _ = ingest_checked(stores, frame, "dropped", pii="drop")
    assert dropped.column_names == ["spend"] and dropped.meta["pii"]["columns"][0]["column"] == "email"
    hashed, _ = ingest_checked(stores, frame, "hashed", pii="hash")
    tokens = load_frame(stores, hashed)["email"].tolist()
    assert tokens[0] == tokens[2] != tokens[1] and "@" not in tokens[0]
    assert hashed.meta["pii"] == {"action": "hash", "columns": dropped.meta["pii"]["columns"], "keyed": False}
    monkeypatch.setenv("CONVEYOR_PII_KEY", "secret")
    keyed, _ = ingest_checked(stores, frame, "keyed", pii="hash")
    assert load_frame(stores, keyed)["email"][0] != tokens[0] and keyed.meta["pii"]["keyed"]
    with pytest.raises(BadInputError, match="Every column looks personal"):
        ingest_checked(stores, frame[["email"]], "x", pii="drop")


def test_project_data_api(tmp_path):
    with Project.init(tmp_path) as project:
        a, _ = project.data.ingest(_frame(0), "d")
        path, contract = project.data.contract("d")
        assert path == tmp_path / "contracts" / "d.yaml" and contract["dataset"] == "d"
        assert project.data.validate("d").passed
        changed = _frame(2, shift=1.0).assign(x=lambda f: f["x"] * 100)  # new units: outside the inferred range
        b, _ = project.data.ingest(changed, "d", on_error="warn")  # contracts/d.yaml applies
        assert b.meta["validation"]["passed"] is False
        assert [e["changes"].get("first") for e in project.data.log("d")] == [True, None]
        assert "x" in project.data.diff(f"d@{a.version}", f"d@{b.version}")["shifted"]
