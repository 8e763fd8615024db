"""Batch scoring, file to file: same checks as the server, probability columns named by the right class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.core.errors import BadInputError
from conveyor.registry.models import register_model
from conveyor.serve.batch import score_file


@pytest.fixture
def model_with_integer_classes(stores):
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=400)})
    model = LogisticRegression().fit(frame, np.where(x > 0, 10, 2))
    register_model(stores, model, "m", input_example=frame.head())
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_probability_columns_follow_the_models_classes(stores, model_with_integer_classes, tmp_path, suffix):
    model_with_integer_classes.to_csv(tmp_path / "in.csv", index=False)
    summary = score_file(stores, "m", tmp_path / "in.csv", tmp_path / f"out{suffix}")
    out = pd.read_csv(tmp_path / "out.csv") if suffix == ".csv" else pd.read_parquet(tmp_path / "out.parquet")
    assert summary == {"model_version": "m:1", "rows": 400, "output": str(tmp_path / f"out{suffix}")}
    winners = np.where(out["proba_10"] > out["proba_2"], 10, 2)
    assert (winners == out["prediction"]).all()
    assert ((out["prediction"] == 10) == (out["x"] > 0)).mean() > 0.95


def test_bad_rows_and_paths_are_bad_input(stores, model_with_integer_classes, tmp_path):
    (tmp_path / "bad.csv").write_text("x,z\nabc,1\n")
    with pytest.raises(BadInputError, match="'x'"):
        score_file(stores, "m", tmp_path / "bad.csv", tmp_path / "out.csv")
    (tmp_path / "missing.csv").write_text("x\n1\n")
    with pytest.raises(BadInputError, match="'z'"):
        score_file(stores, "m", tmp_path / "missing.csv", tmp_path / "out.csv")
    model_with_integer_classes.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BadInputError, match="does not exist"):
        score_file(stores, "m", tmp_path / "in.csv", tmp_path / "nowhere" / "out.csv")
    assert not (tmp_path / "out.csv").exists()
