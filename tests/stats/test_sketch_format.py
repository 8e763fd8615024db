"""The one sketch format, and the stored sketches of older versions read as today's: a project whose dataset
profiles (format 0: 101 quantiles, top 50 categories) and reference statistics (format 1) were stored before the
stats engine gets the verdicts it would get from sketches written today.

``data/legacy_sketches.json`` was written by the code of the commit before this engine (profile_frame and
build_reference of 5de5d1a) from ``frame(0, 3000)`` below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conveyor.data.profile import profile_frame
from conveyor.monitor.reference import build_reference
from conveyor.stats import LEVELS, OTHER, ColumnSketch, cdf_from_quantiles, compare, read_sketches, sketch_column
from conveyor.stats.legacy import format_of

LEGACY = json.loads((Path(__file__).parent / "data" / "legacy_sketches.json").read_text())


def frame(seed: int, n: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10 + shift, 2, n)
    x[::17] = np.nan
    x[5] = np.inf
    cities = [f"c{i:02d}" for i in range(60)]
    weights = np.linspace(2, 1, 60)
    weights = weights[::-1] if shift else weights
    return pd.DataFrame({"x": x, "k": rng.poisson(3, n), "city": rng.choice(cities, n, p=weights / weights.sum()),
                         "flag": rng.random(n) < (0.6 if shift else 0.3),
                         "when": pd.date_range("2024-01-01", periods=n, freq="h")})


def test_a_sketch_is_strict_json_with_a_format_and_one_grid():
    sketch = sketch_column(frame(0, 3000)["x"])
    assert json.loads(json.dumps(sketch, allow_nan=False)) == sketch
    assert sketch["format"] == 2 and len(sketch["quantiles"]) == len(LEVELS) == 1001
    assert (sketch["rows"], sketch["count"], sketch["nulls"], sketch["infinite"]) == (3000, 2823, 177, 1)
    assert sketch["null_share"] == pytest.approx(177 / 3000)
    city = sketch_column(frame(0, 3000)["city"])
    assert city["complete"] is True and OTHER not in city["top"] and len(city["top"]) == 60


def test_old_formats_are_recognised():
    assert format_of(LEGACY["profile"]["columns"]["x"]) == 0
    assert format_of(LEGACY["reference"]["columns"]["x"]) == 1
    assert format_of(profile_frame(frame(0, 100))["columns"]["x"]) == 2


@pytest.mark.parametrize("stored", ["profile", "reference"])
def test_old_sketches_read_as_todays(stored):
    today = read_sketches(profile_frame(frame(0, 3000)))
    for name, old in read_sketches(LEGACY[stored]).items():
        new = today[name]
        assert (old.kind, old.rows, old.count, old.nulls, old.n) == (new.kind, new.rows, new.count, new.nulls, new.n)
        if old.kind == "numeric":
            assert old.infinite == new.infinite
            assert len(old.quantiles) == len(LEVELS)
            # the old CDF (linear between its own points) is the converted one at every point
            old_levels = np.linspace(0, 1, len(LEGACY[stored]["columns"][name]["quantiles"]))
            points = np.linspace(new.quantiles[0] - 1, new.quantiles[-1] + 1, 5001)
            np.testing.assert_allclose(cdf_from_quantiles(old.quantiles, points),
                                       cdf_from_quantiles(np.asarray(LEGACY[stored]["columns"][name]["quantiles"]),
                                                          points, old_levels), atol=1e-12)
        elif old.kind != "datetime":
            assert set(old.known) <= set(new.known)
            assert old.complete == (OTHER not in old.shares)
    assert read_sketches(LEGACY["reference"])["x"].quantiles.tolist() == today["x"].quantiles.tolist()


@pytest.mark.parametrize("stored", ["profile", "reference"])
@pytest.mark.parametrize(("rows", "shift"), [(300, 0.0), (300, 1.0), (5000, 0.0), (5000, 1.0)])
def test_old_sketches_give_todays_verdicts(stored, rows, shift):
    current = frame(7, rows, shift)
    columns = ["x", "k", "city", "flag"]
    todays = build_reference(frame(0, 3000), columns, dataset="d@1") if stored == "reference" \
        else profile_frame(frame(0, 3000))
    old = compare(LEGACY[stored], current, columns)
    new = compare(todays, current, columns)
    assert {c.column: (c.method, c.drifted) for c in old.columns} == {c.column: (c.method, c.drifted)
                                                                       for c in new.columns}
    # 300 rows over 60 cities: chi-square pools the rarely expected ones and the mild reversal stays below its floor
    expected = set() if not shift else {"x", "flag"} if rows < 1000 else {"x", "city", "flag"}
    assert set(new.drifted) == expected


def test_the_prediction_sketch_of_an_old_reference_is_read():
    sketch = ColumnSketch.from_dict(LEGACY["reference"]["prediction"])
    assert sketch.kind == "categorical" and set(sketch.known) == {"yes", "no"} and sketch.complete
