"""Runs in Feast's own venv: a file-source feature view, its point-in-time join (get_historical_features) and
online lookups from its SQLite online store after materialising. Prints one JSON line."""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
from feast.types import Float64, Int64
from feast.value_type import ValueType


def clock():
    return time.perf_counter(), time.process_time()


def since(start):
    return time.perf_counter() - start[0], time.process_time() - start[1]


def main(folder: str, n_features: int, ttl_s: int, lookups: int) -> None:
    root = Path(folder)
    config = RepoConfig(project="bench", registry=str(root / "registry.db"), provider="local",
                        online_store=SqliteOnlineStoreConfig(path=str(root / "online.db")),
                        entity_key_serialization_version=3)
    store = FeatureStore(config=config)
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
    source = FileSource(path=str(root / "features.parquet"), timestamp_field="ts")
    view = FeatureView(name="stats", entities=[customer], ttl=timedelta(seconds=ttl_s),
                       schema=[Field(name="customer_id", dtype=Int64),
                               *(Field(name=f"f{i}", dtype=Float64) for i in range(n_features))],
                       source=source, online=True)
    store.apply([customer, view])
    entities = pd.read_parquet(root / "entities.parquet").rename(columns={"ts": "event_timestamp"})
    refs = [f"stats:f{i}" for i in range(n_features)]
    start = clock()
    frame = store.get_historical_features(entity_df=entities, features=refs).to_df()
    join_wall, join_cpu = since(start)
    out = {"wall": join_wall, "cpu": join_cpu, "rows_out": len(frame),
           "found": int(frame["f0"].notna().sum())}
    if lookups:
        features = pd.read_parquet(root / "features.parquet")
        end = features["ts"].max().to_pydatetime() + timedelta(seconds=1)
        start = clock()
        store.materialize(start_date=end - timedelta(seconds=ttl_s), end_date=end)
        out["materialize_wall"], out["materialize_cpu"] = since(start)
        ids = features["customer_id"].drop_duplicates().tolist()
        for batch in (1, 100):
            times = []
            for i in range(lookups):
                rows = [{"customer_id": int(ids[(i * batch + j) % len(ids)])} for j in range(batch)]
                t = time.perf_counter()
                store.get_online_features(features=refs, entity_rows=rows).to_dict()
                times.append(time.perf_counter() - t)
            times.sort()
            out[f"lookup{batch}_p50_ms"] = statistics.median(times) * 1000
            out[f"lookup{batch}_p99_ms"] = times[int(len(times) * 0.99) - 1] * 1000
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
