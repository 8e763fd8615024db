"""Resource sampling for real: psutil readings of a busy process, stored as time series in SQLite; NVML where a
GPU driver is present, and a clear reason where it is not."""

from __future__ import annotations

import itertools
import time

from conveyor.execution.resources import ResourceSampler, gpu_status, sample_process
from conveyor.store.sql import SqlMetadataStore


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


def test_gpu_status_answers_either_way():
    status = gpu_status()
    if status["available"]:
        gpu = status["gpus"][0]
        assert 0 <= gpu["utilization_percent"] <= 100 and gpu["memory_total_bytes"] > 0
    else:
        assert status["gpus"] == [] and status["reason"]  # says why, e.g. "NVML Shared Library Not Found"


def test_sampler_stores_a_time_series(tmp_path):
    store = SqlMetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with ResourceSampler(store.add_samples, "serve:m:1", interval=0.05, disk_path=tmp_path):
            time.sleep(0.6)
        cpu = store.list_samples("serve:m:1", series="cpu_percent")
        assert len(cpu) >= 5
        assert all(b.at > a.at for a, b in itertools.pairwise(cpu))
        assert store.list_samples("serve:m:1", series="rss_bytes")[-1].value > 0
    finally:
        store.close()


def test_a_failing_sink_never_breaks_the_sampled_process():
    def broken(_samples):
        raise OSError("disk full")

    with ResourceSampler(broken, "x", interval=0.02):
        time.sleep(0.1)
