"""Batch scoring in chunks: the same answers as one pass, on any executor, and never a half-written output."""

from __future__ import annotations

import pandas as pd
import pytest

from conveyor.core.errors import BadInputError
from conveyor.registry.models import load_model
from conveyor.serve.batch import score_file, score_frame


@pytest.mark.parametrize(("suffix", "executor"), [(".csv", "inline"), (".parquet", "threads"),
                                                  (".jsonl", "processes")])
def test_chunks_give_the_answers_of_one_pass(stores, churn, tmp_path, suffix, executor):
    churn.register(stores, "churn")
    rows = pd.concat([churn.rows] * 8, ignore_index=True)  # 200 rows, in chunks of 30
    source = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        rows.to_csv(source, index=False)
    elif suffix == ".parquet":
        rows.to_parquet(source, index=False)
    else:
        rows.to_json(source, orient="records", lines=True)
    seen: list[tuple[int, int | None]] = []
    summary = score_file(stores, "churn", source, tmp_path / "out.parquet", chunk_rows=30, executor=executor,
                         max_workers=2, on_chunk=lambda done, total: seen.append((done, total)))
    out = pd.read_parquet(tmp_path / "out.parquet")
    whole = score_frame(load_model(stores, "churn"), rows)
    assert summary["rows"] == 200 and len(seen) == 7 and seen[-1][0] == 200
    assert out["prediction"].tolist() == whole["prediction"].tolist()
    pd.testing.assert_series_equal(out["proba_yes"], whole["proba_yes"], check_exact=False, rtol=1e-12)


def test_a_bad_row_in_a_later_chunk_names_it_and_leaves_no_output(stores, churn, tmp_path):
    churn.register(stores, "churn")
    rows = pd.concat([churn.rows] * 4, ignore_index=True).astype({"age": object})
    rows.loc[80, "age"] = "old"
    rows.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BadInputError, match=r"'age'.*chunk starting at row 75"):
        score_file(stores, "churn", tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=25)
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out.csv*"))
