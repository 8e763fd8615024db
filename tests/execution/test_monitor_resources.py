"""Resource sampling for real: psutil readings of a busy process, stored as time series in SQLite; NVML's reason
where no GPU driver is present (this machine), and the GPU path through an injected NVML probe."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from conveyor.execution.resources import ResourceSampler, gpu_status, sample_process
from conveyor.store.sql import sql_roles


def test_one_sample_reads_cpu_memory_and_disk(tmp_path):
    import psutil

    process = psutil.Process()
    process.cpu_percent(interval=None)
    end = time.process_time() + 0.3
    while time.process_time() < end:  # burn CPU so the reading is not zero
        sum(range(1000))
    points = {s.series: s.value for s in sample_process("test", process, tmp_path, gpu=False)}
    assert points["cpu_percent"] > 10
    assert points["rss_bytes"] > 10 * 2**20
    assert points["disk_used_bytes"] > 0 and points["disk_free_bytes"] > 0


class FakeNVML:
    """An injected NVML probe with the binding's names (pynvml), holding two GPUs."""

    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    def __init__(self, gpus: list[dict] | None = None, fail: str | None = None) -> None:
        self.gpus, self.fail, self.open = gpus or [], fail, 0

    def nvmlInit(self):
        if self.fail:
            raise self.NVMLError(self.fail)
        self.open += 1

    def nvmlShutdown(self):
        self.open -= 1

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        return self.gpus[index]

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=handle["util"])

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(used=handle["used"], total=handle["total"])

    def nvmlDeviceGetTemperature(self, handle, _sensor):
        return handle["temp"]


def test_without_a_gpu_driver_the_status_says_why():
    # this machine (and CI) has no NVIDIA driver: the real binding must say so, not report a GPU
    assert not Path("/dev/nvidiactl").exists(), "a GPU driver is present: test_gpu_path_reads_every_device applies"
    status = gpu_status()
    assert status["available"] is False and status["gpus"] == []
    assert status["reason"].startswith("NVML unavailable: ")  # NVML's own words, e.g. "NVML Shared Library Not Found"
    dead = gpu_status(FakeNVML(fail="Driver Not Loaded"))
    assert dead == {"available": False, "reason": "NVML unavailable: Driver Not Loaded", "gpus": []}


def test_gpu_path_reads_every_device_and_samples_it(tmp_path):
    nvml = FakeNVML([{"util": 35, "used": 2e9, "total": 8e9, "temp": 61},
                     {"util": 90, "used": 7e9, "total": 8e9, "temp": 77}])
    status = gpu_status(nvml)
    assert status["available"] is True and nvml.open == 0  # NVML is shut down after each question
    assert [g["utilization_percent"] for g in status["gpus"]] == [35.0, 90.0]
    assert status["gpus"][1] == {"index": 1, "utilization_percent": 90.0, "memory_used_bytes": 7e9,
                                 "memory_total_bytes": 8e9, "temperature_c": 77.0}
    points = {s.series: s.value for s in sample_process("t", disk_path=tmp_path, gpu=True, nvml=nvml)}
    assert points["gpu0.utilization_percent"] == 35.0 and points["gpu1.temperature_c"] == 77.0
    assert points["gpu1.memory_used_bytes"] == 7e9
    samples: list = []
    with ResourceSampler(samples.extend, "gpu-run", interval=0.02, disk_path=tmp_path, nvml=nvml):
        time.sleep(0.1)
    assert {"gpu0.utilization_percent", "gpu1.utilization_percent"} <= {s.series for s in samples}
    no_devices = gpu_status(FakeNVML([]))
    assert no_devices["available"] is False and no_devices["reason"] == "NVML found no GPU"


def test_sampler_stores_a_time_series(tmp_path):
    roles = sql_roles(f"sqlite:///{tmp_path / 'm.db'}")
    store = roles.monitoring
    stored = threading.Semaphore(0)

    def sink(samples) -> None:
        store.add_samples(samples)
        stored.release()

    try:
        # waits for four stored writes (the fifth sample comes at stop) rather than sleeping: on a loaded machine a
        # fixed 0.6 s did not always hold four sampling rounds with their SQLite writes
        with ResourceSampler(sink, "serve:m:1", interval=0.05, disk_path=tmp_path):
            assert all(stored.acquire(timeout=60) for _ in range(4))
        cpu = store.samples("serve:m:1", series="cpu_percent")
        assert len(cpu) >= 5
        assert all(b.at > a.at for a, b in itertools.pairwise(cpu))
        assert store.samples("serve:m:1", series="rss_bytes")[-1].value > 0
    finally:
        roles.close()


def test_a_failing_sink_never_breaks_the_sampled_process():
    def broken(_samples):
        raise OSError("disk full")

    with ResourceSampler(broken, "x", interval=0.02):
        time.sleep(0.1)
