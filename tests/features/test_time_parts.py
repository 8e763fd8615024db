"""Datetime columns reach the models as calendar parts plus the day of the year and the absolute time (issue 13:
weather_temp's hourly temperatures depend on the day, which month and day alone give a tree only in two splits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline

from conveyor.features.preprocess import _date_part_names, _date_parts, build_preprocessor


def daily_weather(days: int = 200, seed: int = 0) -> pd.DataFrame:
    """Hourly readings whose level is set by each day's weather (a random walk), plus a daily cycle."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0, 3, days))
    stamps = pd.date_range("2013-01-01", periods=days * 24, freq="h")
    day = (stamps - stamps[0]).days
    target = level[day] + 5 * np.sin(2 * np.pi * stamps.hour / 24) + rng.normal(0, 0.5, len(stamps))
    return pd.DataFrame({"when": stamps, "target": target}).sample(frac=1.0, random_state=seed)


def test_a_date_reaches_the_model_as_one_column_each_for_the_day_and_the_absolute_time():
    frame = pd.DataFrame({"when": pd.to_datetime(["2013-01-01 05:00", "2013-07-02 12:00", None], utc=True)})
    prep = build_preprocessor(frame, scale=False, encoding="ordinal").fit(frame)
    names = list(prep.get_feature_names_out())
    assert names[-2:] == ["when_day_of_year", "when_days"]
    values = prep.transform(frame)
    assert values[1, -2] == 183 and values[1, -1] - values[0, -1] == pytest.approx(182 + 7 / 24)  # tz-aware too
    assert np.isfinite(values).all()  # a missing stamp is imputed


def test_a_day_level_target_is_learned_from_the_date():
    # two years: the day takes year, month and day together in the calendar parts, one split in the absolute time
    # (RMSE 1.98 with the five calendar parts alone, 1.49 with day_of_year and days)
    frame = daily_weather(days=730)
    train, test = frame.iloc[:13_140], frame.iloc[13_140:]
    model = Pipeline([("prep", build_preprocessor(train[["when"]], scale=False, encoding="ordinal")),
                      ("boosting", HistGradientBoostingRegressor(random_state=0))])
    model.fit(train[["when"]], train["target"])
    rmse = float(np.sqrt(np.mean((model.predict(test[["when"]]) - test["target"]) ** 2)))
    assert rmse < 1.7


def test_models_saved_with_the_five_calendar_parts_still_transform():
    # a pipeline pickled before day_of_year and days names _date_parts: it must keep its five columns
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3, freq="D")})
    assert _date_parts(frame).shape == (3, 5)
    assert list(_date_part_names(None, ["when"])) == [f"when_{p}" for p in ("year", "month", "day", "day_of_week",
                                                                            "hour")]
