"""The edge bundle (`conveyor deploy edge`: model.onnx + runner.py on onnxruntime and numpy) vs `conveyor serve`.

    python bench/edge/bench_edge.py [--repeats 3] [--requests 300] [--family lightgbm] [--json PATH]

Trains one churn model (AutoML, one trial of ``--family``, conveyor's preprocessing in the pipeline) in a fresh
project, writes its bundle, then measures, alternating the contenders and taking medians:

* size: the bundle's files, the model artifact conveyor stores, and the installed size of the packages each process
  imports to answer (from its ``sys.modules`` after the first answer, mapped to distributions);
* cold start: process start to the first answered ``POST /invocations`` (bundle: ``runner.py --serve``; conveyor:
  ``conveyor serve`` with the sklearn runtime and with ``--runtime onnx``), wall and CPU seconds of the process;
* 1-row latency: ``--requests`` sequential 1-row requests over a keep-alive connection, median and p99.

Prediction logging is off on the conveyor servers (``--no-log``), so each side does the same work per request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[2]
MODULES = """
import atexit, json, sys
atexit.register(lambda: open({path!r}, "w").write(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}}))))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def churn(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 12, n).round(2),
                          "plan": rng.choice(["basic", "pro", "team"], n), "active": rng.random(n) > 0.5})
    risk = (frame["plan"] == "basic") * 1.5 + (frame["income"] < 45) * 1.0 - frame["active"] * 0.8
    frame["churn"] = np.where(risk + rng.normal(0, 0.6, n) > 0.8, "yes", "no")
    return frame


def setup(work: Path, family: str) -> tuple[Path, Path, dict]:
    import conveyor as cv

    project = work / "project"
    cv.Project.init(project).close()
    with (project / "conveyor.yaml").open("a") as config:
        config.write(f"train:\n  families: [{family}]\n")
    with cv.Project.open(project) as proj:
        dataset = proj.data.ingest(churn(), "churn")[0]
        result = proj.training.train(dataset, "churn", max_trials=1, budget=60)
        proj.models.promote(result.model_version.ref, "champion")
        artifact = len(proj.stores.artifacts.get_bytes(result.model_version.artifact))
    bundle = work / "bundle"
    done = subprocess.run([sys.executable, "-m", "conveyor", "deploy", "edge", "churn@champion", "--out", str(bundle),
                           "--project", str(project), "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    summary["model_artifact_bytes"] = artifact
    return project, bundle, summary


def installed_bytes(modules: list[str]) -> int:
    """The installed size of the distributions that provide ``modules`` (stdlib modules count nothing)."""
    owners = metadata.packages_distributions()
    total, seen = 0, set()
    for module in modules:
        for dist in owners.get(module, []):
            if dist in seen:
                continue
            seen.add(dist)
            for file in metadata.distribution(dist).files or []:
                try:
                    total += file.locate().stat().st_size
                except OSError:
                    pass
    return total


class Process:
    """A server process started with a module-recording hook; CPU seconds of its tree at stop."""

    def __init__(self, argv: list[str], modules: Path, cwd: Path) -> None:
        code = MODULES.format(path=str(modules)) + f"sys.argv = {argv!r}\nimport runpy\n"
        code += ("runpy.run_path(sys.argv[0], run_name='__main__')" if argv[0].endswith(".py")
                 else "runpy.run_module('conveyor', run_name='__main__', alter_sys=True)")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.ps = psutil.Process(self.proc.pid)
        self.cpu = 0.0

    def sample_cpu(self) -> None:
        try:
            times = self.ps.cpu_times()
            self.cpu = times.user + times.system
        except psutil.Error:
            pass

    def stop(self) -> None:
        self.sample_cpu()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def first_answer(url: str, body: dict, proc: Process, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10) as http:
        while True:
            try:
                if http.post(f"{url}/invocations", json=body).status_code == 200:
                    return time.perf_counter() - proc.started
            except httpx.TransportError:
                pass
            if proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered")
            time.sleep(0.01)


def latencies(url: str, body: dict, n: int) -> list[float]:
    out = []
    with httpx.Client(timeout=10) as http:
        for _ in range(20):
            http.post(f"{url}/invocations", json=body)
        for _ in range(n):
            begun = time.perf_counter()
            assert http.post(f"{url}/invocations", json=body).status_code == 200
            out.append((time.perf_counter() - begun) * 1000)
    return out


def contenders(project: Path, bundle: Path) -> dict[str, callable]:
    def runner(port: int) -> list[str]:
        return [str(bundle / "runner.py"), "--serve", str(port)]

    def serve(runtime: str):
        def argv(port: int) -> list[str]:
            return ["conveyor", "serve", "churn@champion", "--port", str(port), "--project", str(project),
                    "--no-log", "--runtime", runtime]
        return argv

    return {"edge bundle (runner.py)": runner, "conveyor serve (sklearn)": serve("sklearn"),
            "conveyor serve --runtime onnx": serve("onnx")}


def run(repeats: int, requests: int, family: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    project, bundle, summary = setup(work, family)
    row = churn(1).drop(columns="churn").to_dict("records")
    body = {"dataframe_records": row}
    found: dict[str, dict] = {}
    for _ in range(repeats):
        for name, argv in contenders(project, bundle).items():
            port = free_port()
            modules = work / "modules.json"
            proc = Process(argv(port), modules, bundle if name.startswith("edge") else ROOT)
            try:
                cold = first_answer(f"http://127.0.0.1:{port}", body, proc)
                proc.sample_cpu()
                cold_cpu = proc.cpu
                lat = latencies(f"http://127.0.0.1:{port}", body, requests)
                rss = proc.ps.memory_info().rss
            finally:
                proc.stop()
            entry = found.setdefault(name, {"cold_s": [], "cold_cpu_s": [], "p50_ms": [], "p99_ms": [], "rss": []})
            entry["cold_s"].append(cold)
            entry["cold_cpu_s"].append(cold_cpu)
            entry["p50_ms"].append(float(np.percentile(lat, 50)))
            entry["p99_ms"].append(float(np.percentile(lat, 99)))
            entry["rss"].append(rss)
            if modules.exists():
                entry["installed_bytes"] = installed_bytes(json.loads(modules.read_text()))
    results = {name: {k: (statistics.median(v) if isinstance(v, list) else v) for k, v in entry.items()}
               for name, entry in found.items()}
    return {"summary": summary, "results": results, "repeats": repeats, "requests": requests, "family": family}


def markdown(report: dict) -> str:
    s = report["summary"]
    lines = [f"model {s['model_version']} ({report['family']}): model.onnx {s['onnx_bytes'] / 1024:.0f} KiB, "
             f"bundle {s['bytes'] / 1024:.0f} KiB (4 files), conveyor's model artifact "
             f"{s['model_artifact_bytes'] / 1024:.0f} KiB; export max abs diff {s['max_abs_diff']:.2g} on "
             f"{s['check_rows']} rows", "",
             "| contender | imported packages installed | RSS | cold start wall s | cold start CPU s | 1-row p50 ms "
             "| 1-row p99 ms |", "|---|---|---|---|---|---|---|"]
    for name, r in report["results"].items():
        lines.append(f"| {name} | {r.get('installed_bytes', 0) / 2**20:.0f} MiB | {r['rss'] / 2**20:.0f} MiB | "
                     f"{r['cold_s']:.2f} | {r['cold_cpu_s']:.2f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--family", default="lightgbm", help="the model family AutoML trains (lightgbm, xgboost, "
                                                                  "linear, ...)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(ROOT / "src"))
    report = run(args.repeats, args.requests, args.family)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(markdown(report))


if __name__ == "__main__":
    main()
