"""The point-in-time join against a brute-force oracle on random data: ties, late rows, TTL and window edges,
missing entities and null keys; every entity row is kept."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.core.errors import BadInputError
from conveyor.features.offline import ViewInput, join
from conveyor.features.views import Feature, FeatureView

T0 = pd.Timestamp("2026-01-01")
DAY = 86400.0


def view(ttl: float | None, window: float) -> FeatureView:
    return FeatureView(name="stats", source="tx", entity="cid", timestamp="ts", ttl=ttl,
                       features=[Feature("amount_last", column="amount"),
                                 Feature("amount_sum", column="amount", agg="sum", window=window),
                                 Feature("amount_count", column="amount", agg="count", window=window),
                                 Feature("amount_mean", column="amount", agg="mean", window=window)])


def oracle(entities: pd.DataFrame, source: pd.DataFrame, v: FeatureView) -> list[dict]:
    """One row at a time, by the rules in docs/features.md."""
    out = []
    window = v.features[1].window
    for _, row in entities.iterrows():
        t = row["ts"]
        rows = [] if pd.isna(row["cid"]) or pd.isna(t) else [
            (pos, r) for pos, r in enumerate(source.itertuples(index=False))
            if not pd.isna(r.cid) and not pd.isna(r.ts) and r.cid == row["cid"] and r.ts <= t]
        fresh = [(p, r) for p, r in rows if (t - r.ts).total_seconds() <= v.ttl] if v.ttl is not None else rows
        if not fresh:
            out.append({"amount_last": None, "amount_sum": None, "amount_count": None, "amount_mean": None,
                        "stats__found": False})
            continue
        last = max(fresh, key=lambda pr: (pr[1].ts, pr[0]))[1]
        inside = [r.amount for _, r in rows if (t - r.ts).total_seconds() < window and not pd.isna(r.amount)]
        out.append({"amount_last": last.amount, "amount_sum": float(sum(inside)), "amount_count": len(inside),
                    "amount_mean": (sum(inside) / len(inside)) if inside else None, "stats__found": True})
    return out


def same(a, b) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    b_null = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if a_null or b_null:
        return a_null and b_null
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


hours = st.integers(min_value=0, max_value=24 * 6)  # a small grid of times: ties and exact edges are common
keys = st.sampled_from(["a", "b", "c", None])
source_rows = st.lists(st.tuples(keys, st.one_of(hours, st.none()),
                                 st.one_of(st.integers(-5, 5).map(float), st.none())), max_size=25)
entity_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", None]), st.one_of(hours, st.none())),
                       min_size=1, max_size=15)


def frame(rows, columns):
    data = pd.DataFrame(rows, columns=columns)
    data["ts"] = pd.Series([r[1] for r in rows], dtype=object)
    if "amount" in data:
        data["amount"] = data["amount"].astype(float)
    data["ts"] = [T0 + pd.Timedelta(hours=h) if h is not None and not pd.isna(h) else pd.NaT for h in data["ts"]]
    return data


@settings(max_examples=150, deadline=None)
@given(source_rows, entity_rows, st.sampled_from([None, DAY / 4, DAY, 2 * DAY]),
       st.sampled_from([DAY / 24, DAY / 2, 3 * DAY]), st.booleans())
def test_the_join_equals_the_brute_force_oracle(source, entities, ttl, window, integer_keys):
    src = frame(source, ["cid", "ts", "amount"]) if source else pd.DataFrame(
        {"cid": pd.Series([], dtype=object), "ts": pd.Series([], dtype="datetime64[ns]"),
         "amount": pd.Series([], dtype=float)})
    ent = frame(entities, ["cid", "ts"])
    if integer_keys:  # integer keys without nulls take the join's fast path (their own codes)
        numbers = {"a": 10, "b": 11, "c": 12, "d": 13}
        for data in (src, ent):
            data["cid"] = pd.Series([numbers.get(k, 12) for k in data["cid"]], dtype="int64", index=data.index)
    v = view(ttl, window)
    got = join(ent, "ts", [ViewInput(v, src, list(v.features))])
    assert len(got) == len(ent)  # never a row dropped
    assert list(got["cid"]) == list(ent["cid"])
    for i, expected in enumerate(oracle(ent, src, v)):
        for column, value in expected.items():
            assert same(got[column].iloc[i], value), (i, column, got[column].iloc[i], value)


def test_ties_take_the_later_row_and_edges_are_inclusive_for_ttl_exclusive_for_windows():
    src = pd.DataFrame({"cid": ["a", "a", "a"], "ts": [T0, T0 + pd.Timedelta("1D"), T0 + pd.Timedelta("1D")],
                        "amount": [1.0, 2.0, 3.0]})
    ent = pd.DataFrame({"cid": ["a", "a", "a", "z"],
                        "ts": [T0 + pd.Timedelta("1D"), T0 + pd.Timedelta("2D"), T0 + pd.Timedelta("2D1s"),
                               T0 + pd.Timedelta("1D")]})
    v = view(DAY, DAY)
    got = join(ent, "ts", [ViewInput(v, src, list(v.features))])
    assert list(got["amount_last"].iloc[:2]) == [3.0, 3.0]  # tie -> the later row; exactly ttl old -> kept
    assert got["stats__found"].tolist() == [True, True, False, False]  # 1 s past the ttl; unknown entity
    assert got["amount_sum"].iloc[0] == 5.0  # the row exactly one window old (T0) is outside (t - 1d, t]
    assert got["amount_sum"].iloc[1] == 0.0 and got["amount_count"].iloc[1] == 0  # both rows exactly 1d old
    assert pd.isna(got["amount_mean"].iloc[1])


def test_numeric_keys_match_text_keys_and_several_keys_join_together():
    src = pd.DataFrame({"shop": [1, 1, 2], "item": ["x", "y", "x"], "ts": [T0] * 3, "price": [10, 20, 30]})
    ent = pd.DataFrame({"shop": ["1", "2", "2"], "item": ["y", "x", "y"], "ts": [T0] * 3})
    v = FeatureView(name="prices", source="p", entity=["shop", "item"], timestamp="ts", features=["price"])
    got = join(ent, "ts", [ViewInput(v, src, list(v.features))])
    assert got["price"].tolist()[:2] == [20, 30] and pd.isna(got["price"].iloc[2])
    assert got["prices__found"].tolist() == [True, True, False]


def test_a_feature_that_would_overwrite_a_column_is_refused():
    src = pd.DataFrame({"cid": ["a"], "ts": [T0], "amount": [1.0]})
    ent = pd.DataFrame({"cid": ["a"], "ts": [T0], "amount": [5.0]})
    v = FeatureView(name="v", source="tx", entity="cid", timestamp="ts", features=["amount"])
    with pytest.raises(BadInputError, match="overwrite"):
        join(ent, "ts", [ViewInput(v, src, list(v.features))])


def test_a_large_join_keeps_every_row():
    rng = np.random.default_rng(0)
    n = 20_000
    src = pd.DataFrame({"cid": rng.integers(0, 2000, n), "ts": T0 + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
                        "amount": rng.normal(size=n)})
    ent = pd.DataFrame({"cid": rng.integers(0, 2500, 5000), "ts": T0 + pd.to_timedelta(rng.integers(0, 10**6, 5000),
                                                                                        "s")})
    v = view(DAY, DAY)
    got = join(ent, "ts", [ViewInput(v, src, list(v.features))])
    assert len(got) == len(ent)
    expected = pd.merge_asof(ent.reset_index().sort_values("ts"), src.sort_values("ts"), on="ts", by="cid",
                             tolerance=pd.Timedelta("1D")).set_index("index").sort_index()
    pd.testing.assert_series_equal(got["amount_last"], expected["amount"].reset_index(drop=True),
                                   check_names=False)
