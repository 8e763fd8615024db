"""Which device training runs on: ``train.device`` is ``auto`` (a GPU when NVML sees one, else the CPU), ``cpu``
or ``cuda``. Only XGBoost uses it (``device="cuda"``): PyPI's LightGBM has no CUDA build, and scikit-learn's
families have no GPU path. ``probe`` is NVML's view (:func:`conveyor.execution.resources.gpu_status`); tests inject
one, since this machine has no GPU."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.core.errors import BadInputError

__all__ = ["DEVICES", "Device", "choose_device"]

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Device:
    name: str  # cpu or cuda
    reason: str  # why, for the run's record and the CLI

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


def choose_device(requested: str = "auto", probe: Callable[[], dict[str, Any]] | None = None) -> Device:
    """The device ``requested`` resolves to; ``cuda`` without a GPU is refused with the reason NVML gave."""
    if requested not in DEVICES:
        raise BadInputError(f"Unknown train.device {requested!r}.", field="train.device",
                            hint=f"Use {', '.join(DEVICES)}.")
    if requested == "cpu":
        return Device("cpu", "train.device is cpu")
    if probe is None:
        from conveyor.execution.resources import gpu_status

        probe = gpu_status
    status = probe()
    gpus = status.get("gpus") or []
    if status.get("available") and gpus:
        names = ", ".join(str(g.get("name", g.get("index"))) for g in gpus)
        return Device("cuda", f"{len(gpus)} GPU(s) found by NVML: {names}")
    if requested == "cuda":
        raise BadInputError(f"train.device is cuda, but no GPU is usable here: {status.get('reason')}.",
                            field="train.device", hint="Use auto (a GPU when there is one) or cpu.")
    return Device("cpu", f"no GPU: {status.get('reason')}")
