"""Resource samples of a process (CPU, memory, disk) with psutil, and of the GPUs with NVML (nvidia-ml-py) where
the driver is present. Low in the layers so that serving and training can both record their own use.

``ResourceSampler(stores_sink, subject)`` runs a daemon thread that samples every ``interval`` seconds and hands
batches of :class:`~conveyor.core.entities.Sample` to ``sink`` (e.g. ``metadata.add_samples``).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from conveyor.core.dependencies import available, install_hint, require
from conveyor.core.entities import Sample, now


def gpu_status(nvml: Any = None) -> dict[str, Any]:
    """``{"available": bool, "reason": str, "gpus": [...]}``: NVML's view, or why there is none.

    ``nvml`` is the NVML binding to ask (``pynvml`` from the ``gpu`` extra by default); tests inject a probe."""
    if nvml is None:
        if not available("pynvml"):
            return {"available": False, "gpus": [],
                    "reason": f"nvidia-ml-py is not installed ({install_hint('gpu')})"}
        nvml = require("pynvml", "gpu")
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:  # no driver, no device: the usual case on a CPU machine
        return {"available": False, "reason": f"NVML unavailable: {exc}", "gpus": []}
    try:
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            use = nvml.nvmlDeviceGetUtilizationRates(handle)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append({"index": index, "utilization_percent": float(use.gpu), "memory_used_bytes": float(memory.used),
                         "memory_total_bytes": float(memory.total),
                         "temperature_c": float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))})
        if not gpus:
            return {"available": False, "reason": "NVML found no GPU", "gpus": []}
        return {"available": True, "reason": "", "gpus": gpus}
    finally:
        nvml.nvmlShutdown()


def sample_process(subject: str, process: psutil.Process | None = None, disk_path: str | Path = ".",
                   gpu: bool = True, nvml: Any = None) -> list[Sample]:
    """One reading: the process's CPU % (since its last reading) and memory, its children's included; the disk
    holding ``disk_path``; the GPUs when NVML answers."""
    process = process or psutil.Process()
    at = now()
    family = [process]
    try:
        family += process.children(recursive=True)
    except psutil.Error:
        pass
    cpu = rss = 0.0
    for member in family:
        try:
            cpu += member.cpu_percent(interval=None)
            rss += member.memory_info().rss
        except psutil.Error:  # a child ended between listing and reading
            continue
    disk = shutil.disk_usage(disk_path)
    points = [Sample(subject, "cpu_percent", cpu, at), Sample(subject, "rss_bytes", rss, at),
              Sample(subject, "disk_used_bytes", float(disk.used), at),
              Sample(subject, "disk_free_bytes", float(disk.free), at)]
    if gpu:
        for device in gpu_status(nvml)["gpus"]:
            i = device["index"]
            points += [Sample(subject, f"gpu{i}.utilization_percent", device["utilization_percent"], at),
                       Sample(subject, f"gpu{i}.memory_used_bytes", device["memory_used_bytes"], at),
                       Sample(subject, f"gpu{i}.temperature_c", device["temperature_c"], at)]
    return points


class ResourceSampler:
    """Samples this process (and its children) every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, sink: Callable[[list[Sample]], None], subject: str | None = None, *, interval: float = 5.0,
                 disk_path: str | Path = ".", batch: int = 1, nvml: Any = None) -> None:
        self.sink = sink
        self.subject = subject or f"process:{os.getpid()}"
        self.interval = interval
        self.disk_path = disk_path
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()
        self._nvml = nvml
        self._gpu = gpu_status(nvml)["available"]  # asked once: NVML's absence does not change while we run

    def _loop(self) -> None:
        pending: list[Sample] = []
        self._process.cpu_percent(interval=None)  # the first reading only starts the clock
        while not self._stop.wait(self.interval):
            pending += sample_process(self.subject, self._process, self.disk_path, gpu=self._gpu, nvml=self._nvml)
            if len(pending) >= 4 * self.batch:
                self._flush(pending)
                pending = []
        pending += sample_process(self.subject, self._process, self.disk_path, gpu=self._gpu, nvml=self._nvml)
        self._flush(pending)

    def _flush(self, pending: list[Sample]) -> None:
        try:
            self.sink(pending)
        except Exception as exc:  # monitoring must never take the monitored process down
            logging.getLogger(__name__).warning("could not store %d resource samples: %s", len(pending), exc)

    def start(self) -> ResourceSampler:
        self._thread = threading.Thread(target=self._loop, name="conveyor-resources", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
