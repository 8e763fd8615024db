"""train.device: a GPU for XGBoost when NVML finds one (auto), the CPU otherwise, and cuda refused with NVML's
reason where there is no GPU. NVML is replaced by a probe where a GPU is pretended (this machine has none); the
refusal and the CPU choice run against the real NVML binding of this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from conveyor.core.errors import BadInputError
from conveyor.execution.devices import choose_device
from conveyor.execution.resources import gpu_status
from conveyor.project import Project
from conveyor.train.families.base import SearchContext
from conveyor.train.families.xgboost import DEFAULTS, FAMILY

ONE_GPU = {"available": True, "reason": "", "gpus": [{"index": 0, "name": "NVIDIA H200"}]}
NO_GPU = {"available": False, "reason": "NVML unavailable: driver not loaded", "gpus": []}


def test_auto_takes_a_gpu_when_nvml_finds_one() -> None:
    chosen = choose_device("auto", lambda: ONE_GPU)
    assert chosen.name == "cuda" and "NVIDIA H200" in chosen.reason


def test_auto_falls_back_to_the_cpu_and_says_why() -> None:
    chosen = choose_device("auto", lambda: NO_GPU)
    assert chosen.name == "cpu" and "driver not loaded" in chosen.reason


def test_cpu_never_asks_nvml() -> None:
    def probe() -> dict:
        raise AssertionError("NVML asked although train.device is cpu")

    assert choose_device("cpu", probe).name == "cpu"


def test_cuda_without_a_gpu_is_refused_with_the_reason() -> None:
    with pytest.raises(BadInputError, match="driver not loaded") as refused:
        choose_device("cuda", lambda: NO_GPU)
    assert refused.value.field == "train.device"
    with pytest.raises(BadInputError, match=r"Unknown train\.device"):
        choose_device("tpu", lambda: ONE_GPU)


def test_xgboost_is_built_for_the_chosen_device() -> None:
    pytest.importorskip("xgboost")
    for device in ("cpu", "cuda"):
        classifier = FAMILY.build(SearchContext("classification", 2, device=device), dict(DEFAULTS), 0)
        assert classifier.estimator.get_params()["device"] == device
        regressor = FAMILY.build(SearchContext("regression", device=device), dict(DEFAULTS), 0)
        assert regressor.get_params()["device"] == device


def test_a_run_records_its_device_and_why(tmp_path: Path) -> None:
    assert gpu_status()["available"] is False  # this machine: the real NVML finds no GPU
    frame = load_breast_cancer(as_frame=True).frame.iloc[:200, [0, 1, 2, 3, -1]]
    with Project.init(tmp_path / "p") as project:
        version, _ = project.data.ingest(frame, "cancer")
        result = project.training.train(version, "target", max_trials=2, budget=60)
        run = project.stores.runs.get(result.run.id)
        assert run.params["device"] == "cpu"
        assert run.tags["device_reason"].startswith("no GPU")


def test_train_with_cuda_on_a_machine_without_a_gpu_exits_2(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame.iloc[:100, [0, 1, -1]]
    with Project.init(tmp_path / "p") as project:
        project.data.ingest(frame, "cancer")
        project.configure("train", device="cuda")
    done = subprocess.run([sys.executable, "-m", "conveyor", "train", "cancer", "--target", "target", "--budget",
                           "20s", "--project", str(tmp_path / "p")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "train.device is cuda, but no GPU is usable here" in done.stderr
    assert "Traceback" not in done.stderr
    with Project.open(tmp_path / "p") as project:
        assert project.stores.runs.search() == []  # nothing half-written
