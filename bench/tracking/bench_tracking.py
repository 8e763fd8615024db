"""Compare conveyor's tracking with MLflow's (embedded SQLite store) on one machine, in one run.

Each side runs the workload in workload.py as a subprocess worker in its own interpreter and a fresh temporary
folder; the driver repeats that, takes medians of wall and CPU seconds, and adds interpreter start-up rows
(import, CLI --version). Usually started through ``bash bench/run.sh tracking``, which creates MLflow's venv.

    .venv/bin/python bench/tracking/bench_tracking.py --repeats 3 --json out.json --markdown RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import servers
import workload

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONVEYOR_BIN = ROOT / ".venv" / "bin"
MLFLOW_BIN = ROOT / ".bench" / "mlflow-venv" / "bin"
ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
SIDES = ("conveyor", "mlflow")
CLI_REPEATS = 5
CLI_GOAL_S = 0.3


def run_worker(python: Path, script: Path) -> dict:
    done = subprocess.run([str(python), str(script)], capture_output=True, text=True, env=ENV, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{script.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_command(argv: list[str], repeats: int) -> dict[str, float]:
    """Median wall and CPU (user + system of the child) seconds of a command, run from an empty folder."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as empty:
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=ENV, cwd=empty)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


def median_timings(results: list[dict]) -> dict[str, dict[str, float]]:
    operations = results[0]["timings"]
    return {op: {kind: statistics.median(r["timings"][op][kind] for r in results) for kind in ("wall", "cpu")}
            for op in operations}


def measure(repeats: int, server_runs: int = 0) -> dict:
    workers = {"conveyor": (CONVEYOR_BIN / "python", HERE / "worker_conveyor.py"),
               "mlflow": (MLFLOW_BIN / "python", HERE / "worker_mlflow.py")}
    raw: dict[str, list[dict]] = {side: [] for side in SIDES}
    for repeat in range(1, repeats + 1):
        for side in SIDES:  # alternate the sides so drifting machine load hits both alike
            print(f"[{repeat}/{repeats}] {side} workload ...", file=sys.stderr, flush=True)
            raw[side].append(run_worker(*workers[side]))
    medians = {side: median_timings(raw[side]) for side in SIDES}

    rows = []
    for op in medians["conveyor"]:
        rows.append({"operation": op, **{side: medians[side][op] for side in SIDES}})
        if op == workload.LOG_OPERATION:
            per_value = {side: {k: v / workload.VALUES_LOGGED for k, v in medians[side][op].items()} for side in SIDES}
            rows.append({"operation": f"  per logged value ({workload.VALUES_LOGGED:,})", **per_value})

    print("import and CLI start-up ...", file=sys.stderr, flush=True)
    rows.append({"operation": "import (+ first use)",
                 "conveyor": time_command([str(CONVEYOR_BIN / "python"), "-c", "import conveyor; conveyor.Project"],
                                          repeats),
                 "mlflow": time_command([str(MLFLOW_BIN / "python"), "-c", "import mlflow"], repeats)})
    rows.append({"operation": "CLI --version",
                 "conveyor": time_command([str(CONVEYOR_BIN / "conveyor"), "--version"], CLI_REPEATS),
                 "mlflow": time_command([str(MLFLOW_BIN / "mlflow"), "--version"], CLI_REPEATS)})
    if server_runs:
        print("the MLflow client against conveyor server and mlflow server ...", file=sys.stderr, flush=True)
        rows.extend(servers.measure_servers(CONVEYOR_BIN / "python", MLFLOW_BIN / "python", server_runs, repeats))
    for row in rows:
        row["ratio"] = {kind: row["mlflow"][kind] / row["conveyor"][kind] for kind in ("wall", "cpu")}

    return {"repeats": repeats,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "versions": {side: raw[side][0]["versions"] for side in SIDES},
            "rows": rows, "raw": raw}


def seconds(value: float) -> str:
    return f"{value * 1000:.2f} ms" if value < 0.01 else f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


HEADER = ["operation", "conveyor wall", "conveyor CPU", "MLflow wall", "MLflow CPU", "ratio wall", "ratio CPU"]


def table_rows(result: dict) -> list[list[str]]:
    return [[row["operation"], seconds(row["conveyor"]["wall"]), seconds(row["conveyor"]["cpu"]),
             seconds(row["mlflow"]["wall"]), seconds(row["mlflow"]["cpu"]),
             f"{row['ratio']['wall']:.1f}x", f"{row['ratio']['cpu']:.1f}x"] for row in result["rows"]]


def caption(result: dict) -> str:
    versions, machine = result["versions"], result["machine"]
    cli = next(row for row in result["rows"] if row["operation"] == "CLI --version")["conveyor"]["wall"]
    return (f"Medians of {result['repeats']} runs ({CLI_REPEATS} for the CLI); ratio = MLflow / conveyor; CPU = "
            f"user + system seconds, child processes included. conveyor {versions['conveyor']['conveyor']} vs "
            f"MLflow {versions['mlflow']['mlflow']} (SQLite store, cloudpickle model), scikit-learn "
            f"{versions['mlflow']['scikit-learn']}, Python {machine['python']}, {machine['cpus']} CPUs. "
            f"`conveyor --version` goal < {CLI_GOAL_S} s: {'met' if cli < CLI_GOAL_S else 'missed'}.")


NOTES = """\
What the rows time (each in a fresh process and temporary folder, imports and model fitting excluded):
- open store: `cv.Project.init(tmp)` vs `set_tracking_uri("sqlite:///...")` + `create_experiment` (MLflow creates and
  migrates its schema here).
- runs: `start_run`, then `log_param` x 10 and `log_metric(k, v, step=0)` x 20 one call at a time, end run; x 100.
- batch: `run.log_batch` vs `MlflowClient().log_batch` of 1,000 metric steps of one key.
- model: a 50-tree RandomForest on breast cancer, `run.log_model(model, "bench", input_example=X.head())` vs
  `mlflow.sklearn.log_model(..., registered_model_name="bench", input_example=X.head(),
  serialization_format="cloudpickle")` (its default skops format refuses a RandomForest unless trusted types are
  listed; conveyor pickles too). Most of MLflow's time here is its pip requirement inference, a subprocess that
  reloads the model; passing `pip_requirements` skips it.
- alias / load: `promote("bench:1", alias="champion")` and `load_model("bench@champion")` vs
  `set_registered_model_alias` and `mlflow.sklearn.load_model("models:/bench@champion")`; both checked to predict
  as the original.
- search: `project.runs.list(order_by_metric="m0", limit=10)` vs `mlflow.search_runs(order_by=["metrics.m0 DESC"],
  max_results=10)` over 102 runs; both checked to return the same top run.
- MLflow client -> server: the same MLflow script (worker_mlflow_client.py: runs of 10 `log_param` + 20
  `log_metric` calls, then `mlflow.sklearn.log_model(..., registered_model_name=...)` with `pip_requirements` given)
  with `MLFLOW_TRACKING_URI` at `conveyor server` (its MLflow routes) vs at `mlflow server --workers 1` (SQLite,
  proxied artifacts), both on 127.0.0.1 and warmed by one run; the client's wall seconds. Its CPU is the client's
  own, alike on both sides. `--server-runs 0` leaves these rows out.
- import: `python -c "import conveyor; conveyor.Project"` (names load lazily, so this is the first use) vs
  `python -c "import mlflow"`; CLI: `conveyor --version` vs `mlflow --version`.
"""


def markdown(result: dict) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" + "---:|" * (len(HEADER) - 1)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(result)]
    return "\n".join(lines) + "\n\n" + caption(result) + "\n"


def show(result: dict) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(markdown(result))
        return
    table = Table(title="Tracking: conveyor vs MLflow", caption=caption(result))
    for i, name in enumerate(HEADER):
        table.add_column(name, justify="left" if i == 0 else "right")
    for cells in table_rows(result):
        table.add_row(*cells)
    Console(width=None if sys.stdout.isatty() else 130).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="workload runs per side (default 3)")
    parser.add_argument("--server-runs", type=int, default=20,
                        help="runs the MLflow client logs into each tracking server (0: skip the servers)")
    parser.add_argument("--json", type=Path, help="also write the results, raw timings included, as JSON")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown")
    args = parser.parse_args()
    for python in (CONVEYOR_BIN / "python", MLFLOW_BIN / "python"):
        if not python.exists():
            raise SystemExit(f"{python} is missing; `bash bench/run.sh tracking` creates the MLflow venv.")

    result = measure(args.repeats, args.server_runs)
    show(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.markdown:
        args.markdown.write_text("# Tracking: conveyor vs MLflow\n\n" + markdown(result) + "\n" + NOTES)


if __name__ == "__main__":
    main()
