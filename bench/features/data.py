"""The benchmark's data: feature rows (entity id, event time, 10 float features) and entity rows (id, time),
seeded, written as Parquet so both sides read the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2026-01-01")
SPAN_S = 90 * 24 * 3600
N_FEATURES = 10
TTL_S = 30 * 24 * 3600


def make(folder: Path, feature_rows: int, entity_rows: int, entities: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"customer_id": rng.integers(0, entities, feature_rows),
                             "ts": T0 + pd.to_timedelta(rng.integers(0, SPAN_S, feature_rows), "s")})
    for i in range(N_FEATURES):
        features[f"f{i}"] = rng.normal(size=feature_rows)
    # a tenth of the entity rows ask for ids that have no feature row, some ask before any row exists
    rows = pd.DataFrame({"customer_id": rng.integers(0, int(entities * 1.1), entity_rows),
                         "ts": T0 + pd.to_timedelta(rng.integers(0, SPAN_S + 20 * 24 * 3600, entity_rows), "s")})
    features_path, entities_path = folder / "features.parquet", folder / "entities.parquet"
    features["ts"] = features["ts"].dt.tz_localize("UTC")
    rows["ts"] = rows["ts"].dt.tz_localize("UTC")
    features.to_parquet(features_path, index=False)
    rows.to_parquet(entities_path, index=False)
    return features_path, entities_path
