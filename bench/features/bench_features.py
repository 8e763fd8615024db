"""The feature store against its anchors, on the same data in one run: the point-in-time join (conveyor vs
pandas ``merge_asof`` vs Feast's offline store, `get_historical_features`) and online lookups of 1 and 100
entities (conveyor's SQLite store vs Feast's SQLite online store). Usually started through
``bash bench/run.sh features``, which creates Feast's venv under .bench/ first.

    python bench/features/bench_features.py [--feature-rows 1000000] [--entity-rows 100000] [--entities 100000]
        [--repeats 3] [--lookups 500] [--skip-feast] [--markdown PATH]

Each join is timed from reading the feature Parquet file to the finished frame; wall and CPU seconds (this
process, all threads) are reported as medians over the repeats, which alternate between the three.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import data  # noqa: E402
from conveyor.features.offline import ViewInput, join  # noqa: E402
from conveyor.features.online import open_online_store  # noqa: E402
from conveyor.features.views import FeatureView  # noqa: E402

FEAST_PYTHON = ROOT / ".bench" / "feast-venv" / "bin" / "python"


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def the_view() -> FeatureView:
    return FeatureView(name="stats", source="features", entity="customer_id", timestamp="ts", ttl=data.TTL_S,
                       features=[f"f{i}" for i in range(data.N_FEATURES)])


def conveyor_join(folder: Path, entities: pd.DataFrame) -> dict[str, float]:
    view = the_view()
    start = clock()
    rows = pd.read_parquet(folder / "features.parquet")
    frame = join(entities, "ts", [ViewInput(view, rows, list(view.features))])  # type: ignore[arg-type]
    wall, cpu = since(start)
    return {"wall": wall, "cpu": cpu, "rows_out": len(frame), "found": int(frame["stats__found"].sum())}


def merge_asof_join(folder: Path, entities: pd.DataFrame) -> dict[str, float]:
    start = clock()
    rows = pd.read_parquet(folder / "features.parquet").sort_values("ts", kind="stable")
    left = entities.reset_index().sort_values("ts", kind="stable")
    frame = pd.merge_asof(left, rows, on="ts", by="customer_id", tolerance=pd.Timedelta(seconds=data.TTL_S))
    frame = frame.set_index("index").sort_index()
    wall, cpu = since(start)
    return {"wall": wall, "cpu": cpu, "rows_out": len(frame), "found": int(frame["f0"].notna().sum())}


def feast(folder: Path, lookups: int) -> dict[str, float]:
    done = subprocess.run([str(FEAST_PYTHON), str(HERE / "worker_feast.py"), str(folder), str(data.N_FEATURES),
                           str(data.TTL_S), str(lookups)], cwd=folder, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "FEAST_USAGE": "False", "HOME": str(folder)})
    if done.returncode != 0:
        raise SystemExit(f"the Feast worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def conveyor_online(folder: Path, lookups: int) -> dict[str, float]:
    view = the_view()
    rows = pd.read_parquet(folder / "features.parquet")
    end = rows["ts"].max() + pd.Timedelta(seconds=1)
    start = clock()
    ids = rows[["customer_id"]].drop_duplicates().reset_index(drop=True)
    frame = join(ids.assign(at=end), "at", [ViewInput(view, rows, list(view.features))])  # type: ignore[arg-type]
    hits = frame[frame["stats__found"]]
    names = view.feature_names
    with open_online_store("sqlite", str(folder / "conveyor-online.db")) as store:
        store.replace("stats", zip(hits[["customer_id"]].itertuples(index=False, name=None),
                                   hits[names].to_dict("records"), strict=True))
        out = dict(zip(("materialize_wall", "materialize_cpu"), since(start), strict=True))
        keys = hits["customer_id"].tolist()
        for batch in (1, 100):
            times, cpu = [], []
            for i in range(lookups):
                asked = [(keys[(i * batch + j) % len(keys)],) for j in range(batch)]
                t, c = time.perf_counter(), time.thread_time()
                store.get("stats", asked)
                times.append(time.perf_counter() - t)
                cpu.append(time.thread_time() - c)
            times.sort()
            cpu.sort()
            out[f"lookup{batch}_p50_ms"] = statistics.median(times) * 1000
            out[f"lookup{batch}_p99_ms"] = times[int(len(times) * 0.99) - 1] * 1000
            out[f"lookup{batch}_cpu_p99_ms"] = cpu[int(len(cpu) * 0.99) - 1] * 1000
    return out


def median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feature-rows", type=int, default=1_000_000)
    parser.add_argument("--entity-rows", type=int, default=100_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--skip-feast", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="features-bench-"))
    try:
        data.make(folder, args.feature_rows, args.entity_rows, args.entities)
        entities = pd.read_parquet(folder / "entities.parquet")
        runs: dict[str, list[dict[str, float]]] = {"conveyor": [], "merge_asof": [], "feast": []}
        for repeat in range(args.repeats):
            runs["conveyor"].append(conveyor_join(folder, entities))
            runs["merge_asof"].append(merge_asof_join(folder, entities))
            if not args.skip_feast:
                runs["feast"].append(feast(folder, args.lookups if repeat == 0 else 0))
        online = conveyor_online(folder, args.lookups)
        print_table(args, runs, online)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def print_table(args: argparse.Namespace, runs: dict[str, list[dict[str, float]]], online: dict[str, float]
                ) -> None:
    lines: list[str] = []
    if runs["conveyor"]:
        lines += join_table(args, runs)
    lines += ["", f"Online lookups ({args.lookups} each), ms (wall; CPU p99 of the calling thread where measured):", "",
              "| store | materialise wall s | 1 entity p50 | 1 entity p99 | 100 entities p50 | 100 entities p99 "
              "| 100 entities CPU p99 |",
              "|---|---|---|---|---|---|---|"]
    stores = [("conveyor sqlite", online)] + ([("feast sqlite", runs["feast"][0])] if runs["feast"] else [])
    for name, r in stores:
        lines.append(f"| {name} | {r['materialize_wall']:.2f} | {r['lookup1_p50_ms']:.3f} | {r['lookup1_p99_ms']:.3f}"
                     f" | {r['lookup100_p50_ms']:.3f} | {r['lookup100_p99_ms']:.3f} | "
                     + (f"{r['lookup100_cpu_p99_ms']:.3f}" if "lookup100_cpu_p99_ms" in r else "-") + " |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


def join_table(args: argparse.Namespace, runs: dict[str, list[dict[str, float]]]) -> list[str]:
    lines = [f"Point-in-time join, {args.entity_rows:,} entity rows x {args.feature_rows:,} feature rows "
             f"({data.N_FEATURES} features, TTL 30d), medians of {args.repeats}:", "",
             "| join | wall s | CPU s | rows out | rows with values | CPU vs conveyor |", "|---|---|---|---|---|---|"]
    base = median(runs["conveyor"], "cpu")
    for name, results in runs.items():
        if not results:
            continue
        found = median(results, "found") if "found" in results[0] else float("nan")
        rows_out = median(results, "rows_out")
        lines.append(f"| {name} | {median(results, 'wall'):.2f} | {median(results, 'cpu'):.2f} | {rows_out:,.0f} | "
                     + (f"{found:,.0f}" if not np.isnan(found) else "-")
                     + f" | {median(results, 'cpu') / base:.1f}x |")
    return lines


if __name__ == "__main__":
    main()
