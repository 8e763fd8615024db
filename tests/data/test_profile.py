"""Profiles must be correct, JSON-ready and complete enough to stand in for the reference rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conveyor.core.errors import BadInputError
from conveyor.core.kinds import column_kind
from conveyor.data.profile import profile_frame
from conveyor.stats import LEVELS, OTHER
from conveyor.stats.sketch import sorted_quantiles


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 5_000
    values = rng.normal(10.0, 2.0, n)
    values[::10] = np.nan
    return pd.DataFrame(
        {
            "x": values,
            "k": rng.integers(0, 5, n),
            "k_nullable": pd.array(np.where(np.arange(n) % 7 == 0, None, np.arange(n)), dtype="Int64"),
            "flag": rng.random(n) < 0.3,
            "city": pd.Series(rng.choice(["oslo", "lima", "pune"], n), dtype="str"),
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        (pd.Series([1.5, None]), "numeric"),
        (pd.Series([1, 2]), "numeric"),
        (pd.Series([1, None], dtype="Int64"), "numeric"),
        (pd.Series([True, False]), "bool"),
        (pd.Series([True, None], dtype="boolean"), "bool"),
        (pd.Series(pd.to_datetime(["2024-01-01", None])), "datetime"),
        (pd.Series(pd.date_range("2024-01-01", periods=2, tz="UTC")), "datetime"),
        (pd.Series(["a", "b"], dtype="str"), "categorical"),
        (pd.Series(["a", 1], dtype=object), "categorical"),
        (pd.Series([1, 2], dtype="category"), "categorical"),
    ],
)
def test_column_kind(series: pd.Series, kind: str) -> None:
    assert column_kind(series) == kind


def test_counts_nulls_and_kinds(frame: pd.DataFrame) -> None:
    profile = profile_frame(frame)
    assert profile["rows"] == len(frame)
    cols = profile["columns"]
    assert [cols[c]["kind"] for c in frame.columns] == [
        "numeric",
        "numeric",
        "numeric",
        "bool",
        "categorical",
        "datetime",
    ]
    assert (cols["x"]["count"], cols["x"]["nulls"]) == (4_500, 500)
    assert cols["k_nullable"]["nulls"] == int(frame["k_nullable"].isna().sum()) > 0
    assert cols["k"]["distinct"] == 5
    assert cols["city"]["distinct"] == 3
    assert cols["k_nullable"]["dtype"] == "Int64"
    assert cols["when"]["min"] == "2024-01-01T00:00:00"
    assert cols["when"]["max"] == frame["when"].max().isoformat()


def test_numeric_statistics_match_numpy(frame: pd.DataFrame) -> None:
    stats = profile_frame(frame)["columns"]["x"]
    values = frame["x"].dropna().to_numpy()
    quantiles = stats["quantiles"]
    assert len(quantiles) == len(LEVELS) == 1001  # the one grid of every sketch: 0.1 % steps
    assert np.all(np.diff(quantiles) >= 0)
    np.testing.assert_allclose(quantiles, np.quantile(values, np.linspace(0, 1, 1001)), rtol=1e-12)
    assert (quantiles[0], quantiles[-1]) == (stats["min"], stats["max"]) == (values.min(), values.max())
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["std"] == pytest.approx(values.std(ddof=1))
    assert len(stats["histogram"]["edges"]) == 21
    assert len(stats["histogram"]["counts"]) == 20
    assert sum(stats["histogram"]["counts"]) == len(values)


def test_sorted_quantiles_handle_a_single_value() -> None:
    assert list(sorted_quantiles(np.array([3.0]), np.array([0.0, 0.5, 1.0]))) == [3.0, 3.0, 3.0]


def test_profile_survives_a_strict_json_round_trip(frame: pd.DataFrame) -> None:
    frame["inf"] = [np.inf, -np.inf] + [1.0] * (len(frame) - 2)
    frame["empty"] = np.nan
    profile = profile_frame(frame)
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile
    assert profile["columns"]["inf"]["infinite"] == 2
    assert profile["columns"]["inf"]["max"] == 1.0


def test_all_null_columns_have_no_statistics() -> None:
    frame = pd.DataFrame({"num": [np.nan] * 4, "text": pd.Series([None] * 4, dtype="str")})
    cols = profile_frame(frame)["columns"]
    assert (cols["num"]["count"], cols["num"]["nulls"], cols["num"]["distinct"]) == (0, 4, 0)
    for key in ("min", "max", "mean", "std", "quantiles", "histogram"):
        assert cols["num"][key] is None
    assert cols["text"]["top"] == {}
    assert cols["text"]["nulls"] == 4


def test_categorical_top_proportions_sum_to_one(frame: pd.DataFrame) -> None:
    cols = profile_frame(frame)["columns"]
    city = cols["city"]["top"]
    assert set(city) == {"oslo", "lima", "pune"}
    assert sum(city.values()) == pytest.approx(1.0)
    assert city["oslo"] == pytest.approx((frame["city"] == "oslo").mean())
    assert set(cols["flag"]["top"]) == {"True", "False"}
    assert cols["flag"]["top"]["True"] == pytest.approx(frame["flag"].mean())


def test_rare_categories_fall_into_other() -> None:
    # 1100 values: "v0" 1000 times, every other value 10 times -> the 100 least frequent go to __other__.
    values = ["v0"] * 1000 + [f"v{i}" for i in range(1, 1100) for _ in range(10)]
    column = profile_frame(pd.DataFrame({"c": values}))["columns"]["c"]
    top = column["top"]
    assert len(top) == 1001 and column["complete"] is False and column["distinct"] == 1100
    assert top["v0"] == pytest.approx(1000 / 11990)
    assert top[OTHER] == pytest.approx(1000 / 11990)
    assert sum(top.values()) == pytest.approx(1.0)
    assert profile_frame(pd.DataFrame({"c": values[:1100]}))["columns"]["c"]["complete"] is True


def test_values_that_stringify_alike_are_counted_together() -> None:
    cols = profile_frame(pd.DataFrame({"c": pd.Series([1, "1", 2, None], dtype=object)}))["columns"]
    assert cols["c"]["top"] == {"1": pytest.approx(2 / 3), "2": pytest.approx(1 / 3)}
    assert cols["c"]["distinct"] == 2


def test_unused_categories_are_not_counted() -> None:
    series = pd.Categorical(["a", "a", "b"], categories=["a", "b", "never"])
    cols = profile_frame(pd.DataFrame({"c": series}))["columns"]
    assert set(cols["c"]["top"]) == {"a", "b"}


def test_repeated_column_names_are_refused() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(BadInputError, match="repeated: a"):
        profile_frame(frame)
