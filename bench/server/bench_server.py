"""`conveyor server` beside `mlflow server` on the same machine, in one run: time to healthy, idle RSS, RSS after
listing runs, and p50/p99 latency of the runs list and of one run's page at concurrency 1 and 8, with each
server's CPU seconds. RSS and CPU are summed over the server's whole process tree.

    bash bench/run.sh server [--runs 10000] [--requests 200] [--skip-mlflow] [--markdown PATH]

Both stores are filled before their servers start (conveyor through its run store, MLflow through its client in
its own venv, .bench/mlflow-venv), so start-up is measured on a store that already holds the runs."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_PY = ROOT / ".bench" / "mlflow-venv" / "bin" / "python"
PAGE = 100

MLFLOW_FILL = """
import sys, mlflow
from mlflow.tracking import MlflowClient
from mlflow.entities import Metric, Param
client = MlflowClient(tracking_uri=sys.argv[1])
t = 1_700_000_000_000
for i in range(int(sys.argv[2])):
    run = client.create_run("0", run_name=f"run-{i}")
    client.log_batch(run.info.run_id, metrics=[Metric("score", i / 1e4, t + i, 0)],
                     params=[Param("i", str(i))])
    client.set_terminated(run.info.run_id)
print(run.info.run_id)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(process: psutil.Process) -> float:
    total = 0
    for p in tree(process):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def cpu_s(process: psutil.Process) -> float:
    total = 0.0
    for p in tree(process):
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def fill_conveyor(folder: Path, runs: int) -> str:
    from conveyor.core.entities import Metric, Run
    from conveyor.project import Project

    with Project.init(folder, name="bench") as project:
        store = project.stores.runs
        last = ""
        for i in range(runs):
            run = store.create(Run(f"{i:08d}" + "0" * 24, f"run-{i}", started_at=1_700_000_000 + i))
            store.log_params(run.id, {"i": i})
            store.log_metrics(run.id, [Metric("score", i / 1e4)])
            store.end(run.id, "finished")
            last = run.id
    return last


def fill_mlflow(folder: Path, runs: int) -> tuple[str, str]:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    done = subprocess.run([str(MLFLOW_PY), "-c", MLFLOW_FILL, uri, str(runs)], capture_output=True, text=True,
                          check=True, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    return uri, done.stdout.strip().splitlines()[-1]


def start(command: list[str], health: str, cwd: Path) -> tuple[subprocess.Popen[bytes], float]:
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}, start_new_session=True)
    while time.perf_counter() - began < 180:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process, time.perf_counter() - began
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited with {process.returncode}")
        time.sleep(0.05)
    raise SystemExit(f"{' '.join(command)} did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def latencies(call: Callable[[httpx.Client], httpx.Response], requests: int, concurrency: int
              ) -> tuple[list[float], int]:
    """The seconds each answered request took, and how many failed (a dropped connection, a non-200 answer): a
    server that sheds load is counted, not allowed to crash the benchmark."""
    seen: list[float] = []
    failed = [0]
    lock = threading.Lock()
    per_thread = max(1, requests // concurrency)

    def work() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(per_thread):
                began = time.perf_counter()
                try:
                    answer = call(client)
                except httpx.TransportError:
                    answer = None
                elapsed = time.perf_counter() - began
                with lock:
                    if answer is not None and answer.status_code == 200:
                        seen.append(elapsed)
                    else:
                        failed[0] += 1

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen, failed[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(name: str, command: list[str], health: str, cwd: Path, calls: dict[str, Callable], requests: int
            ) -> dict[str, float]:
    process, ready = start(command, health, cwd)
    ps = psutil.Process(process.pid)
    try:
        ready_cpu = cpu_s(ps)  # what start-up cost, whatever else ran on the machine meanwhile
        time.sleep(2.0)
        row: dict[str, float] = {"ready_s": ready, "ready_cpu_s": ready_cpu, "idle_rss_mb": rss_mb(ps)}
        cpu_before = cpu_s(ps)
        for concurrency in (1, 8):
            for label, call in calls.items():
                latencies(call, 8, 1)  # warm up
                seen, failed = latencies(call, requests, concurrency)
                row[f"{label} c{concurrency} p50 ms"] = pct(seen, 0.50)
                row[f"{label} c{concurrency} p99 ms"] = pct(seen, 0.99)
                row[f"{label} c{concurrency} failed requests"] = failed
        row["rss_after_mb"] = rss_mb(ps)
        row["server_cpu_s"] = cpu_s(ps) - cpu_before
        print(f"  {name}: ready in {ready:.2f} s, idle {row['idle_rss_mb']:.0f} MB", flush=True)
        return row
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per row and concurrency")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    results: dict[str, dict[str, float]] = {}
    try:
        print(f"filling {args.runs} runs ...", flush=True)
        run_id = fill_conveyor(work / "conveyor", args.runs)
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        results["conveyor server"] = measure(
            "conveyor", [sys.executable, "-m", "conveyor", "server", "--project", str(work / "conveyor"), "--port",
                         str(port)], f"{base}/health", work,
            {"runs list": lambda c: c.get(f"{base}/runs", params={"limit": PAGE}),
             "run page": lambda c: c.get(f"{base}/runs/{run_id}")}, args.requests)
        if not args.skip_mlflow:
            if not MLFLOW_PY.exists():
                raise SystemExit("no .bench/mlflow-venv: run through `bash bench/run.sh server`")
            uri, ml_run = fill_mlflow(work, args.runs)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            results["mlflow server"] = measure(
                "mlflow", [str(MLFLOW_PY.parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                           "--backend-store-uri", uri], f"{base}/health", work,
                {"runs list": lambda c: c.post(f"{base}/api/2.0/mlflow/runs/search",
                                               json={"experiment_ids": ["0"], "max_results": PAGE}),
                 "run page": lambda c: c.get(f"{base}/api/2.0/mlflow/runs/get", params={"run_id": ml_run})},
                args.requests)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    names = list(results)
    keys = list(results[names[0]])
    lines = [f"| {args.runs:,} runs, {args.requests} requests per row | " + " | ".join(names)
             + (" | ratio |" if len(names) == 2 else " |"),
             "|---|" + "---|" * (len(names) + (1 if len(names) == 2 else 0))]
    for key in keys:
        values = [results[n][key] for n in names]
        ratio = f" | {values[1] / values[0]:.1f}x" if len(values) == 2 and values[0] else ""
        lines.append(f"| {key} | " + " | ".join(f"{v:,.2f}" for v in values) + ratio + " |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
