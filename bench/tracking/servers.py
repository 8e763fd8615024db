"""The MLflow client against two tracking servers on this machine, same script (worker_mlflow_client.py):
``conveyor server`` (its MLflow routes) and ``mlflow server`` (SQLite store, proxied artifacts). Both servers are
started once, warmed by one run, then the worker alternates between them."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], health: str, cwd: Path) -> subprocess.Popen[bytes]:
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                               start_new_session=True)
    while time.perf_counter() - began < 180:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
        time.sleep(0.1)
    stop(process)
    raise SystemExit(f"{' '.join(command)} did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def run_client(mlflow_python: Path, uri: str, runs: int, cwd: Path) -> dict:
    import json

    done = subprocess.run([str(mlflow_python), str(HERE / "worker_mlflow_client.py"), uri, str(runs)], cwd=cwd,
                          capture_output=True, text=True, env={**ENV, "PYTHONPATH": str(HERE)})
    if done.returncode != 0:
        raise SystemExit(f"worker_mlflow_client.py against {uri} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_servers(conveyor_python: Path, mlflow_python: Path, runs: int, repeats: int) -> list[dict]:
    """Rows {"operation", "conveyor": {"wall", "cpu"}, "mlflow": {...}}: per logged value and per log_model, the
    MLflow client's wall seconds (its CPU is the client's, the same script on both sides)."""
    with tempfile.TemporaryDirectory(prefix="bench-tracking-servers-") as tmp:
        work = Path(tmp)
        subprocess.run([str(conveyor_python), "-m", "conveyor", "init", str(work / "conveyor")], check=True,
                       capture_output=True, env=ENV)
        port = free_port()
        conveyor = start([str(conveyor_python), "-m", "conveyor", "server", "--project", str(work / "conveyor"),
                          "--port", str(port)], f"http://127.0.0.1:{port}/api/v1/health", work)
        uris = {"conveyor": f"http://127.0.0.1:{port}"}
        processes = [conveyor]
        try:
            port = free_port()
            (work / "mlartifacts").mkdir()
            processes.append(start([str(mlflow_python.parent / "mlflow"), "server", "--host", "127.0.0.1", "--port",
                                    str(port), "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                                    "--artifacts-destination", str(work / "mlartifacts"), "--workers", "1"],
                                   f"http://127.0.0.1:{port}/health", work))
            uris["mlflow"] = f"http://127.0.0.1:{port}"
            for side in uris:  # warm-up: first requests, first experiment
                run_client(mlflow_python, uris[side], 1, work)
            raw: dict[str, list[dict]] = {side: [] for side in uris}
            for repeat in range(1, repeats + 1):
                for side in uris:
                    print(f"[{repeat}/{repeats}] MLflow client -> {side} server ...", file=sys.stderr, flush=True)
                    raw[side].append(run_client(mlflow_python, uris[side], runs, work))
        finally:
            for process in processes:
                stop(process)
    values = raw["conveyor"][0]["values"]

    def median(side: str, op: str, kind: str, per: int = 1) -> float:
        return statistics.median(r["timings"][op][kind] for r in raw[side]) / per

    return [{"operation": f"MLflow client -> server: {runs} runs, per logged value ({values:,})",
             **{side: {k: median(side, "log", k, values) for k in ("wall", "cpu")} for side in uris}},
            {"operation": "MLflow client -> server: log_model + register",
             **{side: {k: median(side, "log_model", k) for k in ("wall", "cpu")} for side in uris}}]
