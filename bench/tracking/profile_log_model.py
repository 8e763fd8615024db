"""Where a ``log_model`` with registration spends its time when the MLflow client logs into ``conveyor server``:
the server's share per request (timed inside the server), and the client's own share (the call's wall time less the
server's time: serialising the model and input example, HTTP round trips). Run with the project's interpreter:

    python bench/tracking/profile_log_model.py --mlflow-python PATH [--count 5] [--no-example]

It serves a fresh project in this process, runs worker_log_model.py with the MLflow venv's python, and prints a
table of the requests of one ``log_model`` (median server milliseconds) and the split of its wall time."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Timed:
    """ASGI wrapper: (start, end, method, path) of every HTTP request."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[tuple[float, float, str, str]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began = time.time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seen.append((began, time.time(), scope["method"], scope["path"]))


def shape(path: str) -> str:
    """A request path with its ids masked, so one log_model's requests group across runs."""
    parts = []
    for part in path.split("/"):
        if len(part) >= 16 and part.replace("-", "").isalnum() and any(c.isdigit() for c in part):
            part = "{id}"
        elif part.isdigit():
            part = "{n}"
        parts.append(part)
    return "/".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", required=True)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--no-example", action="store_true")
    args = parser.parse_args()

    from conveyor.project import Project
    from conveyor.serve import running_server
    from conveyor.server import create_app

    with tempfile.TemporaryDirectory(prefix="profile-log-model-") as tmp:
        project = Project.init(Path(tmp) / "p", name="profile")
        app = Timed(create_app(project))
        try:
            with running_server(app) as url:
                done = subprocess.run([args.mlflow_python, str(HERE / "worker_log_model.py"), url, str(args.count),
                                       *(["--no-example"] if args.no_example else [])], capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(HERE), "MLFLOW_DISABLE_TELEMETRY": "true"})
        finally:
            project.close()
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    per_call = []
    for began, ended, cpu in out["windows"]:
        inside = [(e - s, m, shape(p)) for s, e, m, p in app.seen if began <= s <= ended]
        per_call.append({"wall": ended - began, "client_cpu": cpu, "server": sum(d for d, _, _ in inside),
                         "requests": inside})
    rows: dict[tuple[str, str], list[float]] = {}
    for call in per_call:
        for duration, method, path in call["requests"]:
            rows.setdefault((method, path), []).append(duration)
    calls = len(per_call)
    print(f"MLflow {out['mlflow']}: {calls} log_model calls with registration"
          f"{' (no input example)' if args.no_example else ''}; medians\n")
    print("| request | per call | server ms (median) |\n|---|---:|---:|")
    for (method, path), durations in sorted(rows.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {method} {path} | {len(durations) / calls:g} | {statistics.median(durations) * 1000:.1f} |")
    wall = statistics.median(c["wall"] for c in per_call)
    server = statistics.median(c["server"] for c in per_call)
    requests = statistics.median(len(c["requests"]) for c in per_call)
    client_cpu = statistics.median(c["client_cpu"] for c in per_call)
    print(f"\nper log_model: wall {wall * 1000:.0f} ms = server {server * 1000:.0f} ms ({requests:g} requests) + "
          f"client {max(wall - server, 0) * 1000:.0f} ms; client CPU {client_cpu * 1000:.0f} ms")


if __name__ == "__main__":
    main()
