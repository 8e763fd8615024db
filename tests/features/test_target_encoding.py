"""High-cardinality columns are target-encoded with seeded cross fitting through a splitter (scikit-learn 1.9
deprecates the encoder's own ``random_state``, 1.11 removes it): no deprecation, the same codes on every fit, and the
fitted encoder saves to skops and loads under conveyor's allow-list."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from conveyor.features.preprocess import build_preprocessor, column_kinds
from conveyor.registry.flavors.sklearn import dump_skops, load_skops


def cities(rows: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 300, rows)
    frame = pd.DataFrame({"city": [f"city-{c}" for c in city], "size": rng.normal(size=rows)})
    return frame, pd.Series(city % 3 == 0, name="target").astype(int)


@pytest.mark.parametrize("target_type", ["binary", "continuous"])
def test_target_encoding_is_seeded_without_the_deprecated_random_state(target_type):
    frame, y = cities()
    assert column_kinds(frame)["city"] == "high_cardinality"
    target = y if target_type == "binary" else y * 2.5 + frame["size"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # scikit-learn's deprecation of TargetEncoder(random_state=)
        first = build_preprocessor(frame, scale=False, encoding="ordinal", target_type=target_type)
        codes = first.fit_transform(frame, target)
        again = build_preprocessor(frame, scale=False, encoding="ordinal", target_type=target_type)
        codes_again = again.fit_transform(frame, target)
    np.testing.assert_array_equal(codes, codes_again)  # cross fitting draws the same folds on every fit
    assert np.unique(codes[:, 0]).size > 300  # cross-fitted: one city's rows get their folds' codes, not one code


def test_a_fitted_target_encoder_round_trips_through_skops():
    frame, y = cities()
    encoder = build_preprocessor(frame, scale=False, encoding="ordinal", target_type="binary").fit(frame, y)
    data = dump_skops(encoder)
    assert data is not None  # every type it holds (the splitter's too) is on the allow-list
    loaded = load_skops(data)
    np.testing.assert_array_equal(loaded.transform(frame), encoder.transform(frame))
