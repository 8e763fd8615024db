"""A throwaway two-node Ray cluster on 127.0.0.1 for tests: ``ray start --head`` plus a second ``ray start
--address`` joining it, each with one CPU, 200 MB of object store, no dashboard and explicit ports (the shape that
fits a 2-core CI machine). The head also offers one logical ``GPU``, so ``num_gpus`` requests are scheduled (and
honoured) without a GPU. Workers import conveyor from the path given, as any Ray job's code. On exit exactly the
processes of this cluster are ended (found by its own temp dir), never others; if it cannot start, the error names
the command's output instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["RayCluster", "placement", "ray_cluster"]

OBJECT_STORE_BYTES = 200_000_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _node_ports() -> list[str]:
    return [f"--node-manager-port={_free_port()}", f"--object-manager-port={_free_port()}",
            f"--dashboard-agent-listen-port={_free_port()}", f"--dashboard-agent-grpc-port={_free_port()}",
            f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}"]


@dataclass(frozen=True)
class RayCluster:
    address: str  # host:port of the head's GCS, what RAY_ADDRESS takes
    nodes: int
    gpus: int


def placement(seconds: float = 0.0) -> dict[str, object]:
    """Submit this to a Ray executor: after ``seconds``, the node the task ran on, the resources the scheduler gave
    it (``{"CPU": 1.0, "GPU": 1.0}``), its GPU ids and its process id."""
    import ray

    time.sleep(seconds)
    context = ray.get_runtime_context()
    return {"node": context.get_node_id(), "resources": context.get_assigned_resources(),
            "gpus": [int(g) for g in ray.get_gpu_ids()], "pid": os.getpid()}


def _ray_bin() -> str:
    # the ray CLI of this interpreter's environment: the test command runs .venv/bin/python without activating it
    bin_dir = os.path.dirname(sys.executable)
    found = shutil.which("ray", path=bin_dir) or shutil.which("ray")
    if not found:
        raise RuntimeError("the ray CLI is missing: it comes with the extra 'ray' (pip install 'conveyor-mlops[ray]')")
    return found


def _stop(temp_dir: str) -> None:
    import psutil

    ours = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            args = process.info["cmdline"] or []
            if any(temp_dir in (arg or "") for arg in args):
                ours.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for process in ours:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(ours, timeout=10)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)


@contextmanager
def ray_cluster(pythonpath: str | None = None, *, gpus: int = 1, timeout: float = 240) -> Iterator[RayCluster]:
    """Start the two nodes; yield the head's address; end every process of the cluster on exit."""
    ray_bin = _ray_bin()
    temp_dir = tempfile.mkdtemp(prefix="cvray-", dir="/tmp")  # Ray's socket paths must stay short
    port = _free_port()
    path = os.pathsep.join(p for p in (pythonpath, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "RAY_USAGE_STATS_ENABLED": "0",
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", f"--object-store-memory={OBJECT_STORE_BYTES}",
              "--disable-usage-stats"]
    head = [ray_bin, "start", "--head", f"--port={port}", "--include-dashboard=false", "--dashboard-host=127.0.0.1",
            f"--temp-dir={temp_dir}", f"--ray-client-server-port={_free_port()}", f"--num-gpus={gpus}", *common,
            *_node_ports()]
    worker = [ray_bin, "start", f"--address=127.0.0.1:{port}", "--num-gpus=0", *common, *_node_ports()]
    try:
        for argv in (head, worker):
            started = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
            if started.returncode != 0:
                raise RuntimeError(f"`{' '.join(argv[1:3])}` failed:\n{started.stdout[-1500:]}\n"
                                   f"{started.stderr[-2000:]}")
        yield RayCluster(f"127.0.0.1:{port}", nodes=2, gpus=gpus)
    finally:
        _stop(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
