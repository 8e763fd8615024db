"""Serve one LightGBM model with conveyor, MLServer (with and without adaptive batching) and `mlflow models serve`,
drive each with the same load generator, and print one table; then a bounded load test of conveyor under
promotions. Usually started through ``bash bench/run.sh serving`` (which creates the anchors' venvs).

    python bench/serving/bench_serving.py [--seconds 8] [--loadtest-seconds 60] [--json out.json]
        [--only conveyor,conveyor-nolog,mlserver] [--concurrency 16] [--rows 32]

Every server runs pinned to CPU 0 (``taskset -c 0``) and the load generator to CPU 1, so the servers get the same
share of a shared machine; the table reports each server's CPU seconds (process tree) beside the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
import psutil
from loadgen import LoadResult, build_request, run_load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MLSERVER_BIN = ROOT / ".bench" / "mlserver-venv" / "bin"
MLFLOW_BIN = ROOT / ".bench" / "mlflow-venv" / "bin"
FEATURES = [f"f{i}" for i in range(20)]
SERVER_CPU, LOADGEN_CPU = "0", 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(root: Path) -> tuple[lgb.Booster, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(5000, len(FEATURES))), columns=FEATURES)
    y = ((X["f0"] + X["f1"] * X["f2"] - X["f3"]) + rng.normal(0, 0.5, len(X)) > 0).astype(int)
    booster = lgb.train({"objective": "binary", "num_leaves": 31, "verbose": -1}, lgb.Dataset(X, y), 100)
    booster.save_model(str(root / "model.txt"))
    return booster, X


def floor(booster: lgb.Booster, X: pd.DataFrame) -> dict[int, float]:
    """In-process predict time (median microseconds) of the native booster, single-threaded: the floor."""
    out = {}
    for rows in (1, 32):
        matrix = X.head(rows).to_numpy()
        times = []
        for _ in range(2000):
            started = time.perf_counter()
            booster.predict(matrix, num_threads=1)
            times.append(time.perf_counter() - started)
        out[rows] = statistics.median(times) * 1e6
    return out


class Server:
    def __init__(self, name: str, command: list[str], port: int, health: str, env: dict | None = None,
                 cwd: Path | None = None) -> None:
        self.name, self.port, self.health = name, port, health
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server; closed in stop())
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *command], stdout=self.log, stderr=self.log,
                                     env={**os.environ, **(env or {})}, cwd=cwd)

    def wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{self.health}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.log.seek(0)
        raise SystemExit(f"{self.name} did not start:\n{self.log.read().decode()[-3000:]}")

    def cpu_seconds(self) -> float:
        try:
            proc = psutil.Process(self.proc.pid)
            total = 0.0
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            return total
        except psutil.NoSuchProcess:
            return 0.0

    def stop(self) -> None:
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            p.terminate()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def v2_body(rows: np.ndarray, name: str = "input-0") -> bytes:
    return json.dumps({"inputs": [{"name": name, "shape": list(rows.shape), "datatype": "FP64",
                                   "data": rows.ravel().tolist()}]}).encode()


def mlflow_body(rows: np.ndarray) -> bytes:
    return json.dumps({"dataframe_split": {"columns": FEATURES, "data": rows.tolist()}}).encode()


def setup_conveyor(root: Path, booster: lgb.Booster, versions: int) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    import conveyor as cv
    from conveyor.registry.models import register_model
    from conveyor.registry.packaging import infer_inputs

    X = pd.DataFrame(np.zeros((1, len(FEATURES))), columns=FEATURES)
    signature = {"inputs": infer_inputs(X, None), "task": "classification", "classes": [0, 1]}
    with cv.Project.init(root / "conveyor") as project:
        for _ in range(versions):
            register_model(project.stores, booster, "bench", signature=signature)
        project.models.promote("bench:1", "champion")
    return root / "conveyor"


def setup_mlserver(root: Path, port: int, batching: bool) -> Path:
    folder = root / ("mlserver-batching" if batching else "mlserver")
    model = folder / "bench"
    model.mkdir(parents=True)
    shutil.copy(root / "model.txt", model / "model.bst")
    settings = {"name": "bench", "implementation": "mlserver_lightgbm.LightGBMModel",
                "parameters": {"uri": "./model.bst"}}
    if batching:
        settings |= {"max_batch_size": 32, "max_batch_time": 0.002}
    (model / "model-settings.json").write_text(json.dumps(settings))
    (folder / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "host": "127.0.0.1",
        "parallel_workers": 0, "debug": False, "metrics_endpoint": None}))
    return folder


def setup_mlflow(root: Path) -> Path:
    folder = root / "mlflow-model"
    script = ("import lightgbm as lgb, mlflow.lightgbm, sys; "
              "mlflow.lightgbm.save_model(lgb.Booster(model_file=sys.argv[1]), sys.argv[2])")
    subprocess.run([str(MLFLOW_BIN / "python"), "-c", script, str(root / "model.txt"), str(folder)], check=True,
                   env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}, capture_output=True)
    return folder


CELLS = {"concurrency": (1, 16), "rows": (1, 32)}  # narrowed by --concurrency / --rows


def measure(server: Server, make_body, path: str, X: pd.DataFrame, seconds: float) -> list[dict]:
    rows_out = []
    for concurrency in CELLS["concurrency"]:
        for rows in CELLS["rows"]:
            request = build_request("127.0.0.1", server.port, path, make_body(X.head(rows).to_numpy()))
            run_load("127.0.0.1", server.port, request, concurrency, 1.0)  # warm-up
            cpu = server.cpu_seconds()
            result = run_load("127.0.0.1", server.port, request, concurrency, seconds)
            cpu = server.cpu_seconds() - cpu
            rows_out.append(summary(server.name, concurrency, rows, result, cpu))
            print(f"  {server.name:>24} c={concurrency:<2} rows={rows:<2} {rows_out[-1]['rps']:8.0f} req/s "
                  f"p50 {rows_out[-1]['p50_ms']:.2f} ms p99 {rows_out[-1]['p99_ms']:.2f} ms "
                  f"errors {result.errors}", file=sys.stderr)
    return rows_out


def summary(name: str, concurrency: int, rows: int, result: LoadResult, cpu: float) -> dict:
    ok = result.requests - result.errors
    return {"server": name, "concurrency": concurrency, "rows": rows, "requests": result.requests,
            "errors": result.errors, "rps": ok / result.seconds, "rows_per_s": ok * rows / result.seconds,
            "p50_ms": result.percentile(0.5) * 1000, "p99_ms": result.percentile(0.99) * 1000,
            "wall_s": result.seconds, "cpu_s": cpu, "first_error": result.first_error}


def load_test(root: Path, project: Path, seconds: float, versions: int) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    import conveyor as cv

    port = free_port()
    server = Server("conveyor", [sys.executable, "-m", "conveyor", "serve", "bench@champion", "--port", str(port),
                                 "--project", str(project)], port, "/health",
                    env={"PYTHONPATH": str(ROOT / "src")})
    server.wait()
    X = pd.DataFrame(np.random.default_rng(1).normal(size=(1, len(FEATURES))), columns=FEATURES)
    request = build_request("127.0.0.1", port, "/invocations", mlflow_body(X.to_numpy()))
    holder: dict = {}

    def load() -> None:
        holder["result"] = run_load("127.0.0.1", port, request, 32, seconds, watch_header="X-Model-Version")

    promotions = []
    thread = threading.Thread(target=load)
    cpu = server.cpu_seconds()
    thread.start()
    with cv.Project.open(project) as proj:
        for i in range(1, int(seconds // 10) + 1):
            time.sleep(10 if i * 10 < seconds else max(0.0, seconds - (i - 1) * 10 - 1))
            if i * 10 >= seconds:
                break
            target = f"bench:{i % versions + 1}"
            proj.models.promote(target, "champion")
            promotions.append(target)
    thread.join()
    cpu = server.cpu_seconds() - cpu
    server.stop()
    result: LoadResult = holder["result"]
    return {"seconds": result.seconds, "concurrency": 32, "requests": result.requests, "errors": result.errors,
            "promotions": promotions, "versions_answered": result.headers_seen, "p50_ms": result.percentile(0.5) * 1e3,
            "p99_ms": result.percentile(0.99) * 1e3, "rps": (result.requests - result.errors) / result.seconds,
            "cpu_s": cpu, "statuses": result.statuses, "first_error": result.first_error}


def markdown(results: list[dict], floor_us: dict[int, float]) -> str:
    lines = ["| server | conc | rows/req | req/s | rows/s | p50 ms | p99 ms | errors | server CPU s / wall s "
             "| req per CPU-s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        per_cpu = (r["requests"] - r["errors"]) / r["cpu_s"] if r["cpu_s"] else float("nan")
        lines.append(f"| {r['server']} | {r['concurrency']} | {r['rows']} | {r['rps']:,.0f} | {r['rows_per_s']:,.0f} "
                     f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['cpu_s']:.1f} / "
                     f"{r['wall_s']:.1f} | {per_cpu:,.0f} |")
    lines.append(f"| floor: in-process `Booster.predict`, 1 thread | | 1 / 32 | | | {floor_us[1] / 1000:.3f} / "
                 f"{floor_us[32] / 1000:.3f} | | | | |")
    return "\n".join(lines)


def ratios(results: list[dict]) -> str:
    by = {(r["server"], r["concurrency"], r["rows"]): r for r in results}
    lines = ["| at concurrency 16 | rows/req | conveyor req/s vs anchor | per CPU-s vs anchor "
             "| conveyor p99 vs anchor p99 |", "|---|---:|---:|---:|---:|"]

    def per_cpu(r: dict) -> float:
        return (r["requests"] - r["errors"]) / r["cpu_s"] if r["cpu_s"] else float("nan")

    for anchor in sorted({r["server"] for r in results if not r["server"].startswith("conveyor")}):
        door = "V2" if anchor.startswith("MLServer") else "/invocations"
        for suffix in ("", ", no log"):
            for rows in (1, 32):
                ours = by.get((f"conveyor ({door}{suffix})", 16, rows))
                theirs = by.get((anchor, 16, rows))
                if ours and theirs and theirs["rps"]:
                    lines.append(f"| conveyor ({door}{suffix}) vs {anchor} | {rows} | "
                                 f"{ours['rps'] / theirs['rps']:.2f}x | {per_cpu(ours) / per_cpu(theirs):.2f}x | "
                                 f"{ours['p99_ms']:.2f} vs {theirs['p99_ms']:.2f} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="Duration of each load cell.")
    parser.add_argument("--loadtest-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="conveyor,conveyor-nolog,mlserver,mlserver-batching,mlflow")
    parser.add_argument("--concurrency", default="1,16", help="Concurrency levels to measure (comma-separated).")
    parser.add_argument("--rows", default="1,32", help="Rows per request to measure (comma-separated).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    CELLS["concurrency"] = tuple(int(c) for c in args.concurrency.split(","))
    CELLS["rows"] = tuple(int(r) for r in args.rows.split(","))
    only = set(args.only.split(","))
    root = Path(tempfile.mkdtemp(prefix="serve-bench-", dir="/tmp"))
    results: list[dict] = []
    try:
        booster, X = train(root)
        floor_us = floor(booster, X)
        project = setup_conveyor(root, booster, versions=5)
        os.sched_setaffinity(0, {LOADGEN_CPU})  # from here on: servers on CPU 0, the load generator on CPU 1
        env_mlflow = {"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{MLFLOW_BIN}:{os.environ['PATH']}"}
        for name in ["conveyor", "conveyor-nolog", "mlserver", "mlserver-batching", "mlflow"]:
            if name not in only:
                continue
            port = free_port()
            if name.startswith("conveyor"):
                extra = ["--no-log"] if name.endswith("nolog") else []
                server = Server("conveyor", [sys.executable, "-m", "conveyor", "serve", "bench@champion", "--port",
                                             str(port), "--project", str(project), *extra], port, "/health",
                                env={"PYTHONPATH": str(ROOT / "src")})
            elif name.startswith("mlserver"):
                folder = setup_mlserver(root, port, batching=name.endswith("batching"))
                label = "MLServer (adaptive batching)" if name.endswith("batching") else "MLServer"
                server = Server(label, [str(MLSERVER_BIN / "mlserver"), "start", str(folder)], port,
                                "/v2/health/ready", env={"PATH": f"{MLSERVER_BIN}:{os.environ['PATH']}"})
            else:
                model = setup_mlflow(root)
                server = Server("MLflow models serve", [str(MLFLOW_BIN / "mlflow"), "models", "serve", "-m",
                                                        str(model), "--env-manager", "local", "--host", "127.0.0.1",
                                                        "--port", str(port)], port, "/ping", env=env_mlflow)
            server.wait()
            try:
                if name.startswith("conveyor"):
                    suffix = ", no log" if name.endswith("nolog") else ""
                    server.name = f"conveyor (V2{suffix})"
                    results += measure(server, lambda r: v2_body(r, "x"), "/v2/models/bench/infer", X, args.seconds)
                    server.name = f"conveyor (/invocations{suffix})"
                    results += measure(server, mlflow_body, "/invocations", X, args.seconds)
                elif name.startswith("mlserver"):
                    results += measure(server, v2_body, "/v2/models/bench/infer", X, args.seconds)
                else:
                    results += measure(server, mlflow_body, "/invocations", X, args.seconds)
            finally:
                server.stop()
        loadtest = load_test(root, project, args.loadtest_seconds, 5) if args.loadtest_seconds > 0 else None
        print(markdown(results, floor_us))
        print()
        print(ratios(results))
        if loadtest:
            print()
            print(f"Load test: {loadtest['seconds']:.0f} s at concurrency 32, promotions {loadtest['promotions']}: "
                  f"{loadtest['requests']} requests, {loadtest['errors']} errors, {loadtest['rps']:.0f} req/s, "
                  f"p50 {loadtest['p50_ms']:.2f} ms, p99 {loadtest['p99_ms']:.2f} ms, server CPU "
                  f"{loadtest['cpu_s']:.1f} s; answered by {loadtest['versions_answered']}")
        if args.json:
            args.json.write_text(json.dumps({"results": results, "floor_us": floor_us, "loadtest": loadtest},
                                            indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
