"""Where a ``log_model`` with registration spends its time when the MLflow client logs into ``conveyor server``,
and how it compares with ``mlflow server``. Run with the project's interpreter:

    python bench/tracking/profile_log_model.py --mlflow-python PATH [--count 5] [--repeats 3] [--no-example]

``conveyor server`` runs in this process (its requests are timed inside it: wall and CPU seconds); with a full MLflow
install (``--mlflow-python .bench/mlflow-venv/bin/python``, the venv ``bench/run.sh tracking`` builds) ``mlflow
server --workers 1`` (SQLite, proxied artifacts) is started too and the same worker (worker_log_model.py) alternates
between the two. Printed: the requests of one ``log_model`` with their median server milliseconds, and per
``log_model`` the client's wall time on each side, the conveyor server's share, and the client's own share (wall less
the server's time: what the MLflow client costs against a server that answered instantly, the floor of any ratio)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Timed:
    """ASGI wrapper: (start, end, cpu seconds, method, path) of every HTTP request (the process's CPU: the server is
    the only thing working in it)."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[tuple[float, float, float, str, str]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began, cpu = time.time(), time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seen.append((began, time.time(), time.process_time() - cpu, scope["method"], scope["path"]))


def shape(path: str) -> str:
    """A request path with its ids masked, so one log_model's requests group across calls."""
    parts = []
    for part in path.split("/"):
        if len(part) >= 16 and part.replace("-", "").isalnum() and any(c.isdigit() for c in part):
            part = "{id}"
        elif part.isdigit():
            part = "{n}"
        parts.append(part)
    return "/".join(parts)


def run_worker(python: str, url: str, count: int, no_example: bool) -> dict:
    done = subprocess.run([python, str(HERE / "worker_log_model.py"), url, str(count),
                           *(["--no-example"] if no_example else [])], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(HERE), "MLFLOW_DISABLE_TELEMETRY": "true"})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", required=True, help="python of a venv with mlflow (and scikit-learn)")
    parser.add_argument("--count", type=int, default=5, help="log_model calls per worker run")
    parser.add_argument("--repeats", type=int, default=1, help="worker runs per side, alternating")
    parser.add_argument("--no-example", action="store_true", help="log without an input example")
    args = parser.parse_args()
    args.mlflow_python = os.path.abspath(args.mlflow_python)  # the venv's bin/ holds the mlflow command too

    sys.path.insert(0, str(HERE))
    import servers

    from conveyor.project import Project
    from conveyor.serve import running_server
    from conveyor.server import create_app

    has_server = (Path(args.mlflow_python).parent / "mlflow").exists() and subprocess.run(
        [args.mlflow_python, "-c", "import flask"], capture_output=True).returncode == 0
    walls: dict[str, list[float]] = {"conveyor": [], "mlflow": []}
    client_cpu: list[float] = []
    per_call = []
    with tempfile.TemporaryDirectory(prefix="profile-log-model-") as tmp:
        work = Path(tmp)
        project = Project.init(work / "p", name="profile")
        app = Timed(create_app(project))
        mlflow_server = None
        try:
            with running_server(app) as url:
                uris = {"conveyor": url}
                if has_server:
                    port = servers.free_port()
                    (work / "mlartifacts").mkdir()
                    mlflow_server = servers.start(
                        [str(Path(args.mlflow_python).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port",
                         str(port), "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                         "--artifacts-destination", str(work / "mlartifacts"), "--workers", "1"],
                        f"http://127.0.0.1:{port}/health", work)
                    uris["mlflow"] = f"http://127.0.0.1:{port}"
                for repeat in range(args.repeats):
                    for side, uri in uris.items():
                        print(f"[{repeat + 1}/{args.repeats}] {side} ...", file=sys.stderr, flush=True)
                        out = run_worker(args.mlflow_python, uri, args.count, args.no_example)
                        walls[side] += [ended - began for began, ended, _ in out["windows"]]
                        if side == "conveyor":
                            client_cpu += [cpu for _, _, cpu in out["windows"]]
                            for began, ended, _ in out["windows"]:
                                inside = [(e - s, c, m, shape(p)) for s, e, c, m, p in app.seen if began <= s <= ended]
                                per_call.append({"wall": ended - began, "requests": inside})
        finally:
            if mlflow_server is not None:
                servers.stop(mlflow_server)
            project.close()

    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for call in per_call:
        for duration, cpu, method, path in call["requests"]:
            rows.setdefault((method, path), []).append((duration, cpu))
    calls = len(per_call)
    print(f"MLflow {out['mlflow']}: {calls} log_model calls with registration per side"
          f"{' (no input example)' if args.no_example else ''}; medians\n")
    print("| request to conveyor server | per call | wall ms | CPU ms |\n|---|---:|---:|---:|")
    for (method, path), seen in sorted(rows.items(), key=lambda kv: -sum(d for d, _ in kv[1])):
        print(f"| {method} {path} | {len(seen) / calls:g} | {statistics.median(d for d, _ in seen) * 1000:.1f} | "
              f"{statistics.median(c for _, c in seen) * 1000:.1f} |")
    median = statistics.median
    server_wall = median(sum(d for d, _, _, _ in c["requests"]) for c in per_call)
    server_cpu = median(sum(c for _, c, _, _ in call["requests"]) for call in per_call)
    conveyor = median(walls["conveyor"])
    floor = median(c["wall"] - sum(d for d, _, _, _ in c["requests"]) for c in per_call)
    print(f"\nper log_model against conveyor server: wall {conveyor * 1000:.0f} ms; server {server_wall * 1000:.0f} ms "
          f"wall, {server_cpu * 1000:.0f} ms CPU ({median(len(c['requests']) for c in per_call):g} requests); "
          f"client {floor * 1000:.0f} ms wall, {median(client_cpu) * 1000:.0f} ms CPU")
    if walls["mlflow"]:
        theirs = median(walls["mlflow"])
        print(f"per log_model against mlflow server: wall {theirs * 1000:.0f} ms; ratio {theirs / conveyor:.2f}x "
              f"(at most {theirs / floor:.2f}x with a server that answered instantly)")


if __name__ == "__main__":
    main()
