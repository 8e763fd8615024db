"""Validation contracts: inferred from a version, edited as YAML, checked with pandera; ingest policies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from conveyor.core.errors import BadInputError
from conveyor.data.contracts import ValidationFailed, infer_contract, read_contract, validate, write_contract
from conveyor.data.datasets import ingest_frame, load_frame
from conveyor.data.intake import ingest_checked, ingest_file_checked


@pytest.fixture
def reference():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({"id": np.arange(n), "age": rng.integers(18, 90, n), "plan": rng.choice(["basic", "pro"], n),
                         "score": rng.uniform(0, 1, n), "note": rng.choice(["x", None], n)})


@pytest.fixture
def contract(stores, reference):
    version, _ = ingest_frame(stores, reference, "customers")
    return infer_contract(version)


def test_inferred_contract_covers_types_nulls_ranges_categories_uniqueness(stores, contract, reference):
    columns = contract["columns"]
    # 0..399 widened by a tenth of the range; never below zero, as no value was
    assert columns["id"] == {"kind": "numeric", "nullable": False, "min": 0.0, "max": 439.0, "unique": True}
    assert 0 <= columns["age"]["min"] < 18 and 89 < columns["age"]["max"] < 100 and "unique" not in columns["age"]
    assert columns["plan"] == {"kind": "categorical", "nullable": False, "allowed": ["basic", "pro"]}
    assert columns["note"]["nullable"] is True
    assert "unique" not in columns["score"]  # continuous values are unique by chance, not by rule
    assert "rows" not in contract  # row-count bounds are opt-in
    assert validate(contract, reference).passed
    version = stores.datasets.versions("customers")[0]
    assert infer_contract(version, row_bounds=True)["rows"] == {"min": 200, "max": 800}


def _population(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"height": rng.normal(170, 10, rows), "wait": rng.exponential(5.0, rows),
                         "income": rng.lognormal(10, 0.5, rows), "share": rng.uniform(0, 1, rows),
                         "visits": rng.poisson(3, rows), "delta": rng.standard_t(5, rows)})


def test_a_fresh_sample_of_the_same_distribution_passes_the_inferred_contract(stores):
    # the case: a fresh sample had 15 of 2,000 rows quarantined by bounds at the sample's own min/max
    for seed in range(5):
        version, _ = ingest_frame(stores, _population(2000, seed), f"population{seed}")
        contract = infer_contract(version)
        fresh = _population(2000, 100 + seed)
        report = validate(contract, fresh)
        assert report.passed, (seed, report.summary())
        assert validate(contract, fresh.head(400)).passed  # a small batch is not refused for its size
    reference = _population(2000, 0)
    # what a contract is for still fails: units changed, a sign flipped, a sentinel for "missing"
    assert not validate(contract, reference.assign(height=reference["height"] / 100)).passed
    assert not validate(contract, reference.assign(wait=-reference["wait"])).passed
    assert [f.column for f in validate(contract, reference.assign(visits=reference["visits"].where(
        reference.index != 7, -999))).failures] == ["visits"]


def test_failing_checks_are_counted_with_example_rows(contract, reference):
    batch = reference.copy()
    batch.loc[[3, 4], "age"] = [150, 200]
    batch.loc[7, "plan"] = "gold"
    batch.loc[9, "id"] = 8
    batch.loc[11, "score"] = None
    report = validate(contract, batch)
    assert not report.passed
    found = {(f.column, f.check): f for f in report.failures}
    age = next(f for (column, _), f in found.items() if column == "age")
    assert age.count == 2 and [e["row"] for e in age.examples] == [3, 4] and age.examples[0]["age"] == 150
    assert found[("plan", "isin(['basic', 'pro'])")].examples[0]["plan"] == "gold"
    assert found[("id", "unique")].count == 2
    assert found[("score", "not null")].count == 1
    assert report.bad_rows == [3, 4, 7, 8, 9, 11]
    assert report.as_dict()["failures"][0]["examples"]


def test_row_count_bounds_when_asked_for(stores, contract, reference):
    assert validate(contract, reference.head(50)).passed
    contract = infer_contract(stores.datasets.versions("customers")[0], row_bounds=True)
    report = validate(contract, reference.head(50))
    assert report.table_failed
    assert any(f.column is None and "rows between 200 and 800" in f.check for f in report.failures)


def test_missing_column_and_wrong_kind_are_bad_input(contract, reference):
    with pytest.raises(BadInputError, match="no column 'plan'") as missing:
        validate(contract, reference.drop(columns=["plan"]), "new.csv")
    assert missing.value.field == "plan"
    with pytest.raises(BadInputError, match="column 'age' holds categorical values where the contract expects "
                                            "numeric"):
        validate(contract, reference.assign(age=reference["age"].astype(str)), "new.csv")


def test_edited_yaml_is_what_gets_checked(contract, reference, tmp_path):
    path = tmp_path / "contracts" / "customers.yaml"
    write_contract(contract, path)
    edited = yaml.safe_load(path.read_text())
    edited["columns"]["age"]["max"] = 60
    path.write_text(yaml.safe_dump(edited))
    report = validate(read_contract(path), reference)
    assert [f.column for f in report.failures] == ["age"]
    assert report.failures[0].count == int((reference["age"] > 60).sum())


@pytest.mark.parametrize(("text", "message"), [
    ("columns: [a, b", "not valid YAML"),
    ("just text", "must be a mapping"),
    ("columns: {a: {kind: number}}", "kind 'number'"),
    ("columns: {a: {kind: numeric, min: low}}", "min must be a finite number"),
    ("columns: {a: {kind: numeric, maximum: 3}}", "unknown key 'maximum'"),
])
def test_broken_contract_files_are_named(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=message):
        read_contract(path)


def _bad_batch(reference):
    batch = reference.copy()
    batch.loc[[1, 2], "age"] = 500
    batch.loc[5, "plan"] = "gold"
    return batch


def test_reject_stores_nothing(stores, contract, reference):
    before = stores.datasets.versions()
    with pytest.raises(ValidationFailed) as failed:
        ingest_checked(stores, _bad_batch(reference), "customers", contract=contract, on_error="reject")
    assert failed.value.exit_code == 1 and len(failed.value.report.failures) == 2
    assert stores.datasets.versions() == before


def test_quarantine_stores_bad_rows_as_their_own_version(stores, contract, reference):
    version, created = ingest_checked(stores, _bad_batch(reference), "customers", contract=contract,
                                      on_error="quarantine")
    assert created and version.rows == len(reference) - 3 and version.meta["quarantined_rows"] == 3
    quarantined = stores.datasets.get_version("customers.quarantine")
    assert version.meta["quarantine"] == f"customers.quarantine@{quarantined.version}"
    bad = load_frame(stores, quarantined)
    assert sorted(bad["id"]) == [1, 2, 5] and quarantined.meta["quarantine_of"] == "customers"
    assert not quarantined.meta["validation"]["passed"]
    assert validate(contract, load_frame(stores, version).head(250)).passed


def test_warn_stores_everything_with_the_report(stores, contract, reference):
    version, _ = ingest_checked(stores, _bad_batch(reference), "customers", contract=contract, on_error="warn")
    assert version.rows == len(reference) and version.meta["validation"]["passed"] is False


def test_a_table_level_failure_cannot_be_quarantined(stores, contract, reference):
    bounded = {**contract, "rows": {"min": 200, "max": 800}}
    with pytest.raises(ValidationFailed, match="cannot be quarantined"):
        ingest_checked(stores, reference.head(20), "customers", contract=bounded, on_error="quarantine")


def test_policies_are_checked(stores, contract, reference, tmp_path):
    with pytest.raises(BadInputError, match="Unknown --on-error"):
        ingest_checked(stores, reference, "c", contract=contract, on_error="ignore")
    with pytest.raises(BadInputError, match="No contract"):
        ingest_checked(stores, reference, "c", on_error="reject")
    path = tmp_path / "batch.csv"
    reference.to_csv(path, index=False)
    first, created = ingest_file_checked(stores, path, "c", contract=contract, on_error="reject")
    again, created_again = ingest_file_checked(stores, path, "c", contract=contract, on_error="reject")
    assert created and not created_again and again.version == first.version
